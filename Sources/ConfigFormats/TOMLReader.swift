/// TOML to `ConfigValue`, for containerd's and CRI-O's configs.
public enum TOMLReader {
    public static func parse(_ text: String) throws(ParseError) -> ConfigValue {
        try TOMLParser.parse(text)
    }
}
