import VLLMKernels
import VLLMModelFormats

/// A copy of some columns of every row of a weight matrix (a row-parallel shard: the attention output's or the down
/// projection's input features). Quantized rows are cut at block boundaries only. The copy lives until the model has
/// packed it; a matrix left unpacked keeps it.
final class ColumnSlice {
    let matrix: WeightMatrix
    private let bytes: UnsafeMutableRawPointer

    /// Columns `columns` of `source`; `name` is for the error when they do not start and end on a block boundary.
    init(_ source: WeightMatrix, columns: Range<Int>, name: String) throws(ModelFormatError) {
        let block = Kernels.blockSize(ofType: source.typeID)
        guard columns.lowerBound % block == 0, columns.count % block == 0, !columns.isEmpty else {
            let type = TensorType(rawValue: source.typeID)?.name ?? "type \(source.typeID)"
            throw ModelFormatError("tensor parallelism cannot split '\(name)' at columns \(columns.lowerBound)..<\(columns.upperBound): its \(type) rows come in blocks of \(block)")
        }
        let offset = Kernels.rowBytes(ofType: source.typeID, columns: columns.lowerBound)
        let rowBytes = Kernels.rowBytes(ofType: source.typeID, columns: columns.count)
        bytes = UnsafeMutableRawPointer.allocate(byteCount: max(1, rowBytes * source.rows), alignment: 64)
        for r in 0..<source.rows {
            (bytes + r * rowBytes).copyMemory(from: source.base + r * source.rowBytes + offset, byteCount: rowBytes)
        }
        matrix = WeightMatrix(typeID: source.typeID, rows: source.rows, columns: columns.count, base: bytes)
    }

    deinit { bytes.deallocate() }
}
