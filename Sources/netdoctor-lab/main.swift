import ArgumentParser
import NetdoctorCLI

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// netdoctor-lab: the lab, apart from the product. Run as `netdoctor lab …` (which passes its
/// words on) or as `netdoctor-lab lab …`; the lab's own processes (its pods' servers, the
/// calico CNI plugin, the router advertiser) run this binary again.
struct NetdoctorLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netdoctor-lab",
        abstract: "The netdoctor lab: a two-node pod network to try every command on.",
        subcommands: [LabCommand.self])
}

signal(SIGPIPE, SIG_IGN)
Netdoctor.run(root: NetdoctorLab.self, arguments: Array(CommandLine.arguments.dropFirst()))
