import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Blocking HTTP calls to the Hub's file API (the model loader is synchronous), with the Hub's errors turned into
/// messages that say what to do: a missing repo or file, a gated or private repo, no network.
struct HubHTTP: Sendable {
    let settings: HubSettings

    struct Response {
        var status: Int
        var headers: [String: String]
        var body: Data
        func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    /// One request; `range` asks for bytes from that offset on.
    func send(_ method: String, _ path: String, range: ClosedRange<Int64>? = nil) throws(HubError) -> Response {
        guard let url = URL(string: settings.endpoint + path) else { throw HubError("bad Hub URL \(settings.endpoint + path)") }
        var request = URLRequest(url: url, timeoutInterval: 60)
        request.httpMethod = method
        request.setValue("swift-vllm", forHTTPHeaderField: "User-Agent")
        if let token = settings.token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let range { request.setValue("bytes=\(range.lowerBound)-\(range.upperBound)", forHTTPHeaderField: "Range") }
        final class Box: @unchecked Sendable { var result: Result<Response, Error>? }
        let box = Box(), done = DispatchSemaphore(value: 0)
        // HEAD does not follow redirects: the Hub answers HEAD for an LFS file with a 302 whose X-Linked-Etag and
        // X-Linked-Size describe the file (the CDN's response after it would not).
        (method == "HEAD" ? Self.headSession : URLSession.shared).dataTask(with: request) { data, response, error in
            if let error { box.result = .failure(error) } else if let http = response as? HTTPURLResponse {
                var headers: [String: String] = [:]
                for (key, value) in http.allHeaderFields { headers[String(describing: key).lowercased()] = String(describing: value) }
                box.result = .success(Response(status: http.statusCode, headers: headers, body: data ?? Data()))
            }
            done.signal()
        }.resume()
        done.wait()
        switch box.result {
        case .success(let response)?: return response
        case .failure(let error)?:
            throw HubError("cannot reach \(settings.endpoint) (\(error.localizedDescription)); check the network or HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use only the local cache")
        case nil: throw HubError("no response from \(settings.endpoint)\(path)")
        }
    }

    private final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
            completionHandler(nil)
        }
    }

    private static let headSession = URLSession(configuration: .default, delegate: NoRedirects(), delegateQueue: nil)

    /// Fails unless the response is a success, naming the repo and what went wrong.
    func check(_ response: Response, repo: String, file: String? = nil) throws(HubError) {
        switch response.status {
        case 200..<400: return
        case 401, 403:
            throw HubError("'\(repo)' is gated or private on \(settings.endpoint) (HTTP \(response.status)): "
                           + (settings.token == nil ? "set HF_TOKEN to a token with access" : "the token in HF_TOKEN has no access to it"))
        case 404 where response.header("X-Error-Code") == "EntryNotFound" || (file != nil && response.header("X-Error-Code") != "RepoNotFound"):
            throw HubError("'\(repo)' has no file '\(file ?? "")' on \(settings.endpoint)")
        case 404:
            throw HubError("repository '\(repo)' not found on \(settings.endpoint) (or it is private: set HF_TOKEN)")
        default:
            throw HubError("\(settings.endpoint) answered HTTP \(response.status) for '\(repo)'\(file.map { " file '\($0)'" } ?? "")")
        }
    }
}
