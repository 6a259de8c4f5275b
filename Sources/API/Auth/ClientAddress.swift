import Foundation
import HTTPTypes

/// Which peers may tell us the client's address, and in which headers (Coder's
/// `--proxy-trusted-origins` and `--proxy-trusted-headers`). Without both, the address is the
/// socket's peer, whatever the request says.
public struct ProxyTrust: Sendable {
    public var origins: [IPNetwork]
    public var headers: [HTTPField.Name]

    public init(origins: [IPNetwork] = [], headers: [HTTPField.Name] = []) {
        self.origins = origins
        self.headers = headers
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    /// From the flags' text: CIDRs (or bare addresses) and header names.
    public init(origins: [String], headers: [String]) throws {
        self.origins = try origins.map { text in
            guard let network = IPNetwork(text) else { throw ParseError(description: "--proxy-trusted-origins: \"\(text)\" is not a CIDR such as 10.0.0.0/8") }
            return network
        }
        self.headers = try headers.map { text in
            guard let name = HTTPField.Name(text) else { throw ParseError(description: "--proxy-trusted-headers: \"\(text)\" is not a header name") }
            return name
        }
    }

    public func trusts(_ address: String) -> Bool {
        origins.contains { $0.contains(address) }
    }

    /// The client's address: the peer, unless the peer is a trusted proxy and a trusted header
    /// names one. In a forwarding chain (`X-Forwarded-For: client, proxy1, proxy2`) the answer is
    /// the nearest address that is not itself a trusted proxy, since anything further left may
    /// have been written by the client.
    ///
    /// The chain is read from the right, the end our proxies wrote. An entry we cannot read (not an
    /// address, `unknown`) stops the walk and the peer is used: skipping it would let a client's
    /// own entry further left be taken for the proxy's. Proxies that write ports (`1.2.3.4:5678`,
    /// `[2001:db8::1]:443`) are understood.
    public func clientAddress(peer: String?, headers fields: HTTPFields) -> String? {
        clientAddress(peer: peer, values: { fields[values: $0] })
    }

    /// The same, with the values of a header read by `values` (every field of that name, in
    /// order): the connection cap reads NIO's request head before it becomes an `HTTPRequest`.
    func clientAddress(peer: String?, values: (HTTPField.Name) -> [String]) -> String? {
        guard let peer, trusts(peer) else { return peer }
        for name in headers {
            let chain = values(name).flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
            guard !chain.isEmpty else { continue }
            for entry in chain.reversed() {
                guard let address = Self.address(of: entry) else { return peer }
                if !trusts(address) { return address }
            }
            // Every hop is one of ours: the leftmost is as far as the chain goes.
            return chain.first.flatMap(Self.address(of:)) ?? peer
        }
        return peer
    }

    /// The address in a forwarding entry, without brackets or port; nil if it is not one.
    static func address(of entry: String) -> String? {
        var text = Substring(entry)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy(\.isNumber) && rest.count > 1) else { return nil }
            text = text[text.index(after: text.startIndex)..<close]
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            // IPv4 with a port; a bare IPv6 address has more than one colon.
            let port = text[text.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy(\.isNumber) else { return nil }
            text = text[..<colon]
        }
        let address = String(text)
        return IPNetwork.parseAddress(address) != nil ? address : nil
    }
}

/// An IPv4 or IPv6 network in CIDR notation (`10.0.0.0/8`, `fd00::/8`); a bare address is a /32
/// or /128.
public struct IPNetwork: Sendable, Equatable, CustomStringConvertible {
    let bytes: [UInt8]
    let prefix: Int
    public let description: String

    public init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", maxSplits: 1)
        guard let first = parts.first, let bytes = Self.parseAddress(String(first)) else { return nil }
        let prefix = parts.count == 2 ? Int(parts[1]) : bytes.count * 8
        guard let prefix, (0...bytes.count * 8).contains(prefix) else { return nil }
        self.bytes = bytes
        self.prefix = prefix
        self.description = text
    }

    public func contains(_ address: String) -> Bool {
        guard var candidate = Self.parseAddress(address) else { return false }
        // An IPv4 client seen on a dual-stack socket as ::ffff:a.b.c.d matches IPv4 networks.
        if bytes.count == 4, candidate.count == 16, candidate[0..<12] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff][...] {
            candidate = Array(candidate[12...])
        }
        guard candidate.count == bytes.count else { return false }
        var remaining = prefix
        for (a, b) in zip(candidate, bytes) where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if a & mask != b & mask { return false }
            remaining -= bits
        }
        return true
    }

    /// The address's bytes (4 or 16), or nil if it is not an IP address.
    static func parseAddress(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
