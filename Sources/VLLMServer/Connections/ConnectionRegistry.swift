import NIOCore
import OrderedCollections
import Synchronization

/// Every open HTTP connection, shared by the event loops: decides whether a new connection is served, answered
/// 503 or closed, and closes the connection idle the longest to make room for a new one, as nginx reuses idle
/// keep-alive connections when it runs short. An idle connection is one with no request in progress: freshly
/// opened (its request head still unread, e.g. a slowloris client) or between keep-alive requests.
final class ConnectionRegistry: Sendable {
    /// What a new connection gets.
    enum Admission: Equatable, Sendable {
        /// Served normally.
        case serve
        /// Over `maxConnections` with none idle to close: `/health` and `/metrics` are answered, any other request
        /// gets 503.
        case overflow
        /// Over `maxOpenConnections`: closed at once.
        case refuse
    }

    private struct State {
        /// Open connections counted against the limits (an evicted one leaves at once, before its close completes).
        var open: Set<ObjectIdentifier> = []
        /// The idle ones, the longest idle first.
        var idle: OrderedDictionary<ObjectIdentifier, any Channel> = [:]
    }

    let limits: ConnectionLimits
    private let state = Mutex(State())

    init(limits: ConnectionLimits) {
        self.limits = limits
    }

    /// Open connections counted against the limits.
    var openCount: Int { state.withLock { $0.open.count } }

    /// Counts a new connection in and says how to treat it; an idle connection may be closed to make room.
    func opened(_ channel: any Channel) -> Admission {
        let id = ObjectIdentifier(channel)
        let (admission, evicted): (Admission, (any Channel)?) = state.withLock { state in
            state.open.insert(id)
            guard state.open.count > limits.maxConnections else {
                state.idle[id] = channel
                return (.serve, nil)
            }
            if let (victimID, victim) = state.idle.elements.first {
                state.idle.removeValue(forKey: victimID)
                state.open.remove(victimID)
                state.idle[id] = channel
                return (.serve, victim)
            }
            guard state.open.count <= limits.maxOpenConnections else {
                state.open.remove(id)
                return (.refuse, nil)
            }
            state.idle[id] = channel
            return (.overflow, nil)
        }
        evicted?.close(promise: nil)
        return admission
    }

    /// A request head arrived: the connection is busy until its response ends.
    func requestStarted(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLock { _ = $0.idle.removeValue(forKey: id) }
    }

    /// A response ended: the connection is idle, the most recently so.
    func requestFinished(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLock { state in
            guard state.open.contains(id) else { return }
            state.idle.removeValue(forKey: id)
            state.idle[id] = channel
        }
    }

    /// The connection closed (whoever closed it).
    func closed(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLock { state in
            state.open.remove(id)
            state.idle.removeValue(forKey: id)
        }
    }
}
