import NetdoctorCLI

Netdoctor.runAndExit()
