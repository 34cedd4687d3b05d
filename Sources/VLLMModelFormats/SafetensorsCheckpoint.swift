import Foundation

/// All safetensors shards of a Hugging Face model directory, with tensors looked up by name.
public struct SafetensorsCheckpoint: Sendable {
    public let files: [SafetensorsFile]
    private let location: [String: Int]

    /// Opens `model.safetensors`, or the shards listed in `model.safetensors.index.json`,
    /// or else every `*.safetensors` file in the directory. Every shard must lie inside the directory (`ModelFolder`).
    public init(directory: String) throws(ModelFormatError) {
        let folder = try ModelFolder(directory)
        var names: [String]
        let indexPath = directory + "/model.safetensors.index.json"
        if let data = try MappedFile.contents(of: indexPath) {
            guard let json = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any],
                  let map = json["weight_map"] as? [String: String]
            else { throw ModelFormatError("'\(indexPath)' has no weight_map (an object of tensor names to shard file names)") }
            names = Array(Set(map.values)).sorted()
            for name in names { try folder.checkShardName(name, listedIn: indexPath) }
        } else {
            let all = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            names = all.filter { $0.hasSuffix(".safetensors") }.sorted()
        }
        guard !names.isEmpty else {
            throw ModelFormatError("'\(directory)' has no *.safetensors weights")
        }
        var files: [SafetensorsFile] = []
        var location: [String: Int] = [:]
        for name in names {
            let file = try SafetensorsFile(path: try folder.resolve(name))
            for key in file.tensors.keys {
                guard location[key] == nil else {
                    throw ModelFormatError("tensor '\(key)' appears in more than one shard of '\(directory)'")
                }
                location[key] = files.count
            }
            files.append(file)
        }
        self.files = files
        self.location = location
    }

    public var tensorNames: [String] { Array(location.keys) }

    /// The tensor named `name` and its bytes, if present.
    public func tensor(named name: String) -> (info: SafetensorsTensorInfo, data: UnsafeRawBufferPointer)? {
        guard let i = location[name], let info = files[i].tensors[name] else { return nil }
        return (info, files[i].data(of: info))
    }
}
