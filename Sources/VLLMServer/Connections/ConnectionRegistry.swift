import NIOCore
import OrderedCollections
import Synchronization

/// Every open HTTP connection, shared by the event loops: decides whether a new connection is served, answered
/// 503 or closed, and closes the connection idle the longest to make room for a new one, as nginx reuses idle
/// keep-alive connections when it runs short. An idle connection is one with no request in progress: freshly
/// opened (its request head still unread, e.g. a slowloris client) or between keep-alive requests. The first to go
/// is the oldest fresh one, unless it opened less than `grace` ago (a client that has just connected gets the time
/// to send its request), then the one idle longest between requests (whose client may well have closed it already).
final class ConnectionRegistry: Sendable {
    /// What a new connection gets.
    enum Admission: Equatable, Sendable {
        /// Served normally.
        case serve
        /// Over `maxConnections` with none idle (for `grace`) to close: `/health` and `/metrics` are answered, any other request
        /// gets 503.
        case overflow
        /// Over `maxOpenConnections` with none idle to close: closed at once.
        case refuse
    }

    private struct State {
        /// Open connections counted against the limits (an evicted one leaves at once, before its close completes).
        var open: Set<ObjectIdentifier> = []
        /// The idle connections that never had a request, and since when, the oldest first.
        var fresh: OrderedDictionary<ObjectIdentifier, (channel: any Channel, since: ContinuousClock.Instant)> = [:]
        /// The idle connections between requests, the longest idle first.
        var kept: OrderedDictionary<ObjectIdentifier, any Channel> = [:]

        /// Takes the connection to close for a new one out of the idle ones.
        mutating func evict(now: ContinuousClock.Instant, grace: Duration) -> (any Channel)? {
            let victim: (ObjectIdentifier, any Channel)
            if let (id, entry) = fresh.elements.first, now - entry.since >= grace {
                fresh.removeValue(forKey: id)
                victim = (id, entry.channel)
            } else if let (id, channel) = kept.elements.first {
                kept.removeValue(forKey: id)
                victim = (id, channel)
            } else {
                return nil
            }
            open.remove(victim.0)
            return victim.1
        }
    }

    let limits: ConnectionLimits
    /// How long a connection must have been idle to be closed for a new one.
    let grace: Duration
    private let state = Mutex(State())

    init(limits: ConnectionLimits, grace: Duration = .milliseconds(100)) {
        self.limits = limits
        self.grace = grace
    }

    /// Open connections counted against the limits.
    var openCount: Int { state.withLock { $0.open.count } }

    /// Counts a new connection in and says how to treat it. Over `maxConnections`, the connection idle longest (and
    /// for `grace` when fresh) is closed to make room; over `maxOpenConnections`, any idle one.
    func opened(_ channel: any Channel) -> Admission {
        let id = ObjectIdentifier(channel)
        let now = ContinuousClock.now
        let (admission, evicted): (Admission, (any Channel)?) = state.withLock { state in
            state.open.insert(id)
            var evicted: (any Channel)?
            if state.open.count > limits.maxConnections {
                evicted = state.evict(now: now, grace: grace)
                // At the hard limit the oldest idle connection goes, however young, rather than the newcomer (which
                // may be a health check).
                if evicted == nil, state.open.count > limits.maxOpenConnections { evicted = state.evict(now: now, grace: .zero) }
            }
            guard state.open.count <= limits.maxOpenConnections else {
                state.open.remove(id)
                return (.refuse, nil)
            }
            state.fresh[id] = (channel, now)
            return (state.open.count <= limits.maxConnections ? .serve : .overflow, evicted)
        }
        evicted?.close(promise: nil)
        return admission
    }

    /// A request head arrived: the connection is busy until its response ends.
    func requestStarted(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLock { state in
            state.fresh.removeValue(forKey: id)
            state.kept.removeValue(forKey: id)
        }
    }

    /// A response ended: the connection is idle, the most recently so.
    func requestFinished(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLock { state in
            guard state.open.contains(id) else { return }
            state.kept.removeValue(forKey: id)
            state.kept[id] = channel
        }
    }

    /// The connection closed (whoever closed it).
    func closed(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLock { state in
            state.open.remove(id)
            state.fresh.removeValue(forKey: id)
            state.kept.removeValue(forKey: id)
        }
    }
}
