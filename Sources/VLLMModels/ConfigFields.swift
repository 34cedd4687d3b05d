import Foundation
import VLLMModelFormats

/// Reads an architecture's own fields from a Hugging Face `config.json`, beyond those `HuggingFaceConfig` holds
/// (a `Decodable` of just them, defined beside the architecture that uses them).
enum ConfigFields {
    static func decode<Fields: Decodable>(_ type: Fields.Type, directory: String) throws(ModelFormatError) -> Fields {
        let path = directory + "/config.json"
        guard let data = try MappedFile.contents(of: path) else { throw ModelFormatError("'\(directory)' has no readable config.json") }
        do {
            return try JSONDecoder().decode(type, from: Data(data))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw ModelFormatError("'\(path)': the field \(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type")
        } catch {
            throw ModelFormatError("'\(path)' is not a valid model config: \(error)")
        }
    }
}
