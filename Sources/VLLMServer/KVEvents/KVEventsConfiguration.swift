import Foundation
import VLLMJSON

/// `--kv-events-config`, vLLM's `KVEventsConfig` as JSON: whether to publish prefix-cache changes and where.
public struct KVEventsConfiguration: Sendable, Equatable {
    /// `enable_kv_cache_events` with `publisher: "zmq"` (vLLM's default once events are enabled).
    public var enabled = false
    /// `endpoint`: `tcp://HOST:PORT` to bind, `*` for every interface.
    public var endpoint = "tcp://*:5557"
    /// `topic`: the first frame of every message (subscribers filter on its prefix).
    public var topic = ""
    /// `hwm` (and `max_queue_size`, the smaller wins): messages a subscriber may fall behind before newer ones are
    /// dropped for it.
    public var highWaterMark = 100_000

    public init() {}

    /// Parses the flag's JSON; unknown keys and values we cannot honour are errors naming them.
    public static func parse(_ text: String) throws -> KVEventsConfiguration {
        let value: JSONValue
        do { value = try JSONParser.parse(Data(text.utf8)) } catch { throw Invalid("--kv-events-config is not JSON: \(error)") }
        guard let fields = value.object else { throw Invalid("--kv-events-config must be a JSON object") }
        let known = ["enable_kv_cache_events", "publisher", "endpoint", "replay_endpoint", "buffer_steps", "hwm", "max_queue_size", "topic"]
        if let unknown = fields.keys.first(where: { !known.contains($0) }) {
            throw Invalid("--kv-events-config has no key '\(unknown)' (known: \(known.joined(separator: ", ")))")
        }
        var c = KVEventsConfiguration()
        c.enabled = try bool(fields, "enable_kv_cache_events") ?? false
        switch try string(fields, "publisher") {
        case nil, "zmq": break
        case "null": c.enabled = false
        case let other?: throw Invalid("--kv-events-config publisher must be \"zmq\" or \"null\", got \"\(other)\"")
        }
        if let endpoint = try string(fields, "endpoint") { c.endpoint = endpoint }
        _ = try c.hostAndPort()
        if try string(fields, "replay_endpoint") != nil {
            throw Invalid("--kv-events-config replay_endpoint is not supported: subscribers get the events published while connected")
        }
        if try int(fields, "buffer_steps") != nil {
            throw Invalid("--kv-events-config buffer_steps sizes the replay endpoint's buffer, and replay_endpoint is not supported")
        }
        let hwm = try int(fields, "hwm") ?? 100_000, queue = try int(fields, "max_queue_size") ?? 100_000
        guard hwm >= 1, queue >= 1 else { throw Invalid("--kv-events-config hwm and max_queue_size must be positive") }
        c.highWaterMark = min(hwm, queue)
        if let topic = try string(fields, "topic") { c.topic = topic }
        return c
    }

    /// The endpoint's host and port.
    public func hostAndPort() throws -> (host: String, port: Int) {
        guard endpoint.hasPrefix("tcp://"), let colon = endpoint.lastIndex(of: ":"), colon > endpoint.index(endpoint.startIndex, offsetBy: 5),
              let port = Int(endpoint[endpoint.index(after: colon)...]), (0...65535).contains(port) else {
            throw Invalid("--kv-events-config endpoint must be tcp://HOST:PORT (HOST may be *), got \"\(endpoint)\"")
        }
        var host = String(endpoint[endpoint.index(endpoint.startIndex, offsetBy: 6)..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    private static func bool(_ f: JSONObject, _ key: String) throws -> Bool? {
        guard let v = f[key], v != .null else { return nil }
        guard let b = v.bool else { throw Invalid("--kv-events-config \(key) must be a boolean") }
        return b
    }

    private static func string(_ f: JSONObject, _ key: String) throws -> String? {
        guard let v = f[key], v != .null else { return nil }
        guard let s = v.string else { throw Invalid("--kv-events-config \(key) must be a string") }
        return s
    }

    private static func int(_ f: JSONObject, _ key: String) throws -> Int? {
        guard let v = f[key], v != .null else { return nil }
        guard let n = v.number, n == n.rounded(), let i = Int(exactly: n) else { throw Invalid("--kv-events-config \(key) must be an integer") }
        return i
    }

    /// A bad `--kv-events-config`.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
