import Foundation

/// Where and how to reach the Hub, from the environment variables `huggingface_hub` reads: `HF_ENDPOINT` (default
/// https://huggingface.co), `HF_TOKEN`, `HF_HUB_OFFLINE`, and the cache: `HF_HUB_CACHE`, else `$HF_HOME/hub`, else
/// `~/.cache/huggingface/hub` (the same folder Python tools use, so each finds the other's files).
public struct HubSettings: Sendable, Equatable {
    public var endpoint: String
    public var token: String?
    public var offline: Bool
    public var cacheDirectory: String

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, downloadDirectory: String? = nil) {
        var endpoint = environment["HF_ENDPOINT"] ?? "https://huggingface.co"
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.endpoint = endpoint
        token = environment["HF_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        offline = ["1", "ON", "YES", "TRUE"].contains((environment["HF_HUB_OFFLINE"] ?? "").uppercased())
        cacheDirectory = downloadDirectory
            ?? environment["HF_HUB_CACHE"]
            ?? ((environment["HF_HOME"] ?? NSHomeDirectory() + "/.cache/huggingface") + "/hub")
    }
}
