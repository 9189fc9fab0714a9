import NIOSSL
enum ClientPlaceholder {}
