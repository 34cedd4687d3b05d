import Foundation
import CVLLMKernels
import Testing
@testable import VLLMKernels

/// Packed copies cut from one shared arena: aligned, disjoint, and each still holds its own matrix's values
/// (read back through the packed row gather, against the gather from the unpacked rows).
struct PackedArenaTests {
    @Test func piecesAreAlignedDisjointAndLargeOnesGetTheirOwnChunk() {
        let arena = PackedArena(chunkBytes: 1)  // rounded up to one 2 MiB chunk
        let sizes = [100, 64, 1 << 20, 5 << 20, 1_100_000, 1]
        let pieces = sizes.map { arena.allocate($0) }
        for (piece, size) in zip(pieces, sizes) {
            #expect(Int(bitPattern: piece.pointer) % 64 == 0)
            let offset = piece.pointer - piece.chunk.base
            #expect(offset >= 0 && offset + size <= piece.chunk.bytes, "a piece lies inside its chunk")
        }
        for i in pieces.indices {
            for j in pieces.indices where j > i && pieces[i].chunk === pieces[j].chunk {
                let (a, b) = (pieces[i].pointer - pieces[i].chunk.base, pieces[j].pointer - pieces[j].chunk.base)
                #expect(a + sizes[i] <= b || b + sizes[j] <= a, "pieces \(i) and \(j) overlap")
            }
        }
        #expect(pieces[3].chunk.bytes == 6 << 20 && pieces[3].pointer == pieces[3].chunk.base, "5 MiB: a chunk of its own")
        #expect(pieces[0].chunk === pieces[1].chunk && pieces[1].chunk === pieces[2].chunk, "small pieces share a chunk")
        #expect(pieces[4].chunk !== pieces[2].chunk, "a piece that does not fit starts the next chunk")
        #expect(pieces[5].chunk === pieces[4].chunk, "and later pieces go on from there, past the big one")
    }

    @Test(arguments: [Int32(VK_Q4_0), Int32(VK_Q4_1), Int32(VK_Q8_0)])
    func matricesSharingAnArenaKeepTheirValues(type: Int32) throws {
        guard vk_packed_supported(type) == 1 else { return }
        let arena = PackedArena(chunkBytes: 1)
        var data = KernelTestData(seed: UInt64(type) + 11)
        let shapes = [(48, 64), (16, 96), (33, 32)]
        let rows = shapes.map { data.weights(type: type, rows: $0.0, columns: $0.1) }
        let pool = ThreadPool(threadCount: 2)
        try rows.withUnsafeBufferPointers { bases in
            let matrices = zip(shapes, bases).map { WeightMatrix(typeID: type, rows: $0.0.0, columns: $0.0.1, base: $0.1) }
            let packed = try matrices.map { try #require($0.packing(pool: pool, arena: arena).packed) }
            for (matrix, copy) in zip(matrices, packed) {
                let ids = (0..<Int32(matrix.rows)).map { $0 }
                var fromRows = [Float](repeating: .nan, count: matrix.rows * matrix.columns), fromPanels = fromRows
                vk_get_rows(type, matrix.base, Int64(matrix.rowBytes), Int64(matrix.columns), ids, Int64(ids.count), &fromRows)
                vk_get_rows_packed(type, copy.base, Int64(matrix.columns), ids, Int64(ids.count), &fromPanels)
                #expect(fromRows == fromPanels)
            }
        }
    }

    /// Collapsing the chunks into huge pages after packing (while kernels may read them) changes no value.
    @Test func promotionToHugePagesKeepsTheValues() throws {
        let type = Int32(VK_Q8_0)
        guard vk_packed_supported(type) == 1 else { return }
        let arena = PackedArena(chunkBytes: 1)
        var data = KernelTestData(seed: 5)
        let rows = 4096, columns = 256  // 1.1 MB of Q8_0: panels over one 2 MiB chunk
        let weights = data.weights(type: type, rows: rows, columns: columns)
        try weights.withUnsafeBytes { base in
            let matrix = WeightMatrix(typeID: type, rows: rows, columns: columns, base: base.baseAddress!)
            let copy = try #require(matrix.packing(pool: ThreadPool(threadCount: 2), arena: arena).packed)
            let ids = (0..<Int32(rows)).map { $0 }
            var before = [Float](repeating: .nan, count: rows * columns), after = before
            vk_get_rows_packed(type, copy.base, Int64(columns), ids, Int64(rows), &before)
            let done = arena.promoteToHugePagesInBackground()
            StartupGate.open()
            done.wait()
            vk_get_rows_packed(type, copy.base, Int64(columns), ids, Int64(rows), &after)
            #expect(before.map(\.bitPattern) == after.map(\.bitPattern))
        }
    }
}

private extension Array where Element == [UInt8] {
    /// Every array's base address, valid inside `body`.
    func withUnsafeBufferPointers<R>(_ body: ([UnsafeRawPointer]) throws -> R) rethrows -> R {
        func nest(_ i: Int, _ acc: [UnsafeRawPointer]) throws -> R {
            if i == count { return try body(acc) }
            return try self[i].withUnsafeBytes { try nest(i + 1, acc + [$0.baseAddress!]) }
        }
        return try nest(0, [])
    }
}
