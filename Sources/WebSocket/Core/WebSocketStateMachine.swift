import NIOCore

/// The whole RFC 6455 protocol for one connection as a value: feed it the peer's bytes, pull
/// events out, tell it what to send, and write out the bytes it queues. No socket, clock or
/// event loop is involved, so every rule is testable on plain bytes (the model is Python's
/// `websockets` and `h11`).
///
/// ```
/// machine.receive(bytes)
/// while let event = machine.nextEvent() { … }
/// machine.drainOutput { bytes, _ in socket.write(bytes) }
/// // after a .close or .failure event, once the application has caught up:
/// machine.replyToClose()
/// ```
///
/// A transport adapter with timers and an application behind it asks the machine's lifecycle
/// methods instead (`WebSocketCloseState.swift`): they answer every close decision as
/// `WebSocketAction`s, so the adapter itself decides nothing.
///
/// Payload bytes move once: from the receive buffer into the message buffer, unmasked on the
/// way, eight bytes at a time. Limits are checked on the frame header, before any payload of
/// that frame is buffered.
public struct WebSocketStateMachine: Sendable {
    public enum State: Sendable, Hashable {
        case open
        /// Our close frame is queued; we are waiting for the peer's.
        case closeSent
        /// The peer's close frame arrived, or the peer broke the protocol: nothing more is read,
        /// and our close frame (the echo, or the failure code) is owed. Data may still go out
        /// until `replyToClose()` queues it, so that answers to messages the peer sent before
        /// its close (or its error) are not lost.
        case replyOwed
        /// The close handshake is over or the connection failed: nothing more is read or sent.
        case closed
    }

    public let role: WebSocketRole
    public let configuration: WebSocketConfiguration
    public private(set) var state: State = .open
    /// The peer's close frame, once it arrived.
    public private(set) var receivedClose: WebSocketCloseFrame?
    /// The close frame we sent, whether the application asked for it, it echoed the peer's, or
    /// it reported a protocol failure.
    public private(set) var sentClose: WebSocketCloseFrame?
    /// What `replyToClose()` will send while the state is `.replyOwed`.
    private var owedReply: WebSocketCloseFrame?
    /// Timers, transport closure and the close status, for the lifecycle methods.
    var closing = WebSocketCloseState()

    private let allocator: ByteBufferAllocator
    private var input: ByteBuffer
    /// Whether `input` is a buffer of our own rather than one the transport handed over.
    private var inputIsOwned = true
    private var frame: FrameInProgress?
    private var message: MessageInProgress?
    /// Frames sent but not yet serialized: they become bytes together, when drained.
    private var queued: [WebSocketOutgoingFrame] = []
    /// A copy of the machine copies the keys not yet used too: send from one copy only.
    private var maskingKeys = WebSocketMaskingKeySource()
    private var output: [ByteBuffer] = []
    /// Storage `drainOutput` swaps with `output`, kept so that draining allocates nothing.
    private var drained: [ByteBuffer] = []

    /// A data frame whose header is consumed and whose payload is still arriving.
    private struct FrameInProgress {
        var remaining: Int
        var maskingKey: WebSocketMaskingKey?
        /// Payload bytes of this frame already read, modulo 4: where the key stands.
        var phase: Int
        var fin: Bool
    }

    private struct MessageInProgress {
        var isText: Bool
        var buffer: ByteBuffer
        var validator = UTF8Validator()
    }

    /// A buffer this large is reserved up front for a message whose first frame announces at
    /// least as much; beyond it the buffer grows by doubling as bytes actually arrive, so an
    /// announced length alone cannot make us allocate.
    static let initialReservation = 256 * 1024

    public init(
        role: WebSocketRole,
        configuration: WebSocketConfiguration = WebSocketConfiguration(),
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) {
        self.role = role
        self.configuration = configuration
        self.allocator = allocator
        self.input = allocator.buffer(capacity: 0)
    }

    // MARK: - Receiving

    /// Hands the peer's bytes to the machine. Bytes after the peer's close frame, or after a
    /// failure, are ignored.
    public mutating func receive(_ bytes: ByteBuffer) {
        guard !isReadingFinished, bytes.readableBytes > 0 else { return }
        if input.readableBytes == 0 {
            // Adopt the buffer instead of copying it.
            input = bytes
            inputIsOwned = false
        } else {
            if input.readerIndex > 4096 {
                input.discardReadBytes()
            }
            input.writeImmutableBuffer(bytes)
        }
    }

    /// True once the peer's close frame arrived or we failed the connection.
    public var isReadingFinished: Bool {
        receivedClose != nil || failed
    }

    private var failed = false

    /// Parses as far as the received bytes allow and returns the next event, or nil when more
    /// bytes are needed (or reading is finished).
    public mutating func nextEvent() -> WebSocketEvent? {
        while !isReadingFinished {
            if frame != nil {
                switch readPayload() {
                case .needMoreBytes:
                    letGoOfReadBuffer()
                    return nil
                case .continue: continue
                case .event(let event): return event
                }
            }
            switch readHeader() {
            case .needMoreBytes:
                letGoOfReadBuffer()
                return nil
            case .continue: continue
            case .event(let event): return event
            }
        }
        return nil
    }

    /// Called when everything received is parsed: keeps what is left (at most a partial header
    /// or a control frame still arriving, so a few bytes) in a buffer of our own, and lets go of
    /// the transport's read buffer. A transport that reuses its read buffer when nobody else
    /// holds it (NIO's pooled allocator does) then reads into the same warm memory every time
    /// instead of a fresh allocation per read.
    private mutating func letGoOfReadBuffer() {
        let left = input.readableBytes
        guard !inputIsOwned, left <= Self.ownedInputLimit else { return }
        var owned = allocator.buffer(capacity: left)
        owned.writeImmutableBuffer(input)
        input = owned
        inputIsOwned = true
    }

    /// What the machine holds on to between reads (tests).
    var retainedInput: (bytes: Int, isOwned: Bool) { (input.readableBytes, inputIsOwned) }

    private static let ownedInputLimit = 256

    private enum Step {
        case needMoreBytes
        case `continue`
        case event(WebSocketEvent)
    }

    private mutating func readHeader() -> Step {
        let header: WebSocketFrameHeader
        let headerSize: Int
        switch WebSocketFrameHeader.parse(input) {
        case .incomplete:
            return .needMoreBytes
        case .invalidLength:
            return .event(fail(.protocolError, "invalid payload length encoding"))
        case .header(let parsed, let size):
            header = parsed
            headerSize = size
        }

        if header.reservedBits != 0 {
            return .event(fail(.protocolError, "reserved bits set without a negotiated extension"))
        }
        if header.opcode.isReserved {
            return .event(fail(.protocolError, "reserved opcode \(header.opcode.rawValue)"))
        }
        switch (role, header.maskingKey) {
        case (.server, nil): return .event(fail(.protocolError, "client frame is not masked"))
        case (.client, .some): return .event(fail(.protocolError, "server frame is masked"))
        default: break
        }

        if header.opcode.isControl {
            if !header.fin {
                return .event(fail(.protocolError, "fragmented control frame"))
            }
            if header.payloadLength > 125 {
                return .event(fail(.protocolError, "control frame payload over 125 bytes"))
            }
            // Control frames are small: wait until the whole frame is here.
            guard input.readableBytes >= headerSize + header.payloadLength else { return .needMoreBytes }
            input.moveReaderIndex(forwardBy: headerSize)
            var payload = allocator.buffer(capacity: header.payloadLength)
            copyPayload(count: header.payloadLength, key: header.maskingKey, phase: 0, into: &payload)
            return .event(control(header.opcode, payload))
        }

        if header.opcode == .continuation {
            if message == nil {
                return .event(fail(.protocolError, "continuation frame with no message to continue"))
            }
        } else if message != nil {
            return .event(fail(.protocolError, "new data frame in the middle of a fragmented message"))
        }
        if header.payloadLength > configuration.maxFrameSize {
            return .event(fail(.messageTooBig, "frame of \(header.payloadLength) bytes over the \(configuration.maxFrameSize)-byte limit"))
        }
        let soFar = message?.buffer.readableBytes ?? 0
        if header.payloadLength > configuration.maxMessageSize - soFar {
            return .event(fail(.messageTooBig, "message over the \(configuration.maxMessageSize)-byte limit"))
        }

        input.moveReaderIndex(forwardBy: headerSize)
        if message == nil {
            message = MessageInProgress(isText: header.opcode == .text, buffer: allocator.buffer(capacity: 0))
        }
        frame = FrameInProgress(remaining: header.payloadLength, maskingKey: header.maskingKey, phase: 0, fin: header.fin)
        return .continue
    }

    private mutating func readPayload() -> Step {
        guard var current = frame, var assembling = message else { return .continue }
        // Avoid a copy when a client gets a whole unfragmented frame in one read: the message
        // is a slice of the receive buffer.
        if current.maskingKey == nil, current.fin, assembling.buffer.readableBytes == 0,
           current.remaining > 0, input.readableBytes >= current.remaining {
            assembling.buffer = input.readSlice(length: current.remaining)!
            if assembling.isText {
                let valid = assembling.buffer.withUnsafeReadableBytes { assembling.validator.validate($0) }
                if !valid { return .event(fail(.invalidPayloadData, "invalid UTF-8 in text message")) }
            }
            current.remaining = 0
        } else {
            let count = min(current.remaining, input.readableBytes)
            if count == 0 && current.remaining > 0 { return .needMoreBytes }
            if count > 0 {
                // Move the in-progress message out of `self` so its buffer stays uniquely
                // referenced while it grows.
                message = nil
                let start = assembling.buffer.writerIndex
                reserve(&assembling.buffer, adding: count, frameRemaining: current.remaining)
                copyPayload(count: count, key: current.maskingKey, phase: current.phase, into: &assembling.buffer)
                current.phase = (current.phase + count) & 3
                current.remaining -= count
                if assembling.isText {
                    let valid = assembling.buffer.withUnsafeReadableBytes { bytes in
                        let fresh = UnsafeRawBufferPointer(rebasing: bytes[(start - assembling.buffer.readerIndex)...])
                        return assembling.validator.validate(fresh)
                    }
                    if !valid { return .event(fail(.invalidPayloadData, "invalid UTF-8 in text message")) }
                }
            }
        }
        if current.remaining > 0 {
            frame = current
            message = assembling
            return .needMoreBytes
        }
        frame = nil
        guard current.fin else {
            message = assembling
            return .continue
        }
        message = nil
        if assembling.isText {
            guard assembling.validator.isComplete else {
                return .event(fail(.invalidPayloadData, "text message ends inside a UTF-8 sequence"))
            }
            return .event(.message(.text(String(buffer: assembling.buffer))))
        }
        return .event(.message(.binary(assembling.buffer)))
    }

    /// Grows the message buffer geometrically: reserving exactly what each fragment needs
    /// would reallocate on every one of 65,536 tiny fragments.
    private func reserve(_ buffer: inout ByteBuffer, adding count: Int, frameRemaining: Int) {
        guard buffer.writableBytes < count else { return }
        let needed = buffer.writerIndex + count
        let wanted: Int
        if buffer.capacity == 0 {
            wanted = max(count, min(frameRemaining, Self.initialReservation))
        } else {
            // Doubling, but never past the message limit (the header checks keep `needed`
            // within it).
            wanted = max(needed, min(buffer.capacity * 2, configuration.maxMessageSize))
        }
        buffer.reserveCapacity(wanted)
    }

    /// Bytes of buffer memory the machine holds on to, for tests and memory accounting.
    var bufferedCapacity: Int {
        input.capacity + (message?.buffer.capacity ?? 0)
    }

    /// Moves `count` bytes from the input to `destination`, unmasking them if a key is given.
    private mutating func copyPayload(count: Int, key: WebSocketMaskingKey?, phase: Int, into destination: inout ByteBuffer) {
        guard count > 0 else { return }
        guard let key else {
            destination.writeImmutableBuffer(input.readSlice(length: count)!)
            return
        }
        let source = input.readSlice(length: count)!
        destination.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { target in
            source.withUnsafeReadableBytes { bytes in
                WebSocketMasking.apply(key: key, phase: phase, from: bytes, to: target)
            }
            return count
        }
    }

    private mutating func control(_ opcode: WebSocketOpcode, _ payload: ByteBuffer) -> WebSocketEvent {
        switch opcode {
        case .ping:
            // A closing endpoint has nothing more to say, pongs included.
            if state == .open {
                queue(opcode: .pong, payload: payload, maskingKey: nil)
            }
            return .ping(payload)
        case .pong:
            return .pong(payload)
        default:
            return receiveClose(payload)
        }
    }

    private mutating func receiveClose(_ payload: ByteBuffer) -> WebSocketEvent {
        var payload = payload
        let frame: WebSocketCloseFrame
        switch payload.readableBytes {
        case 0:
            frame = WebSocketCloseFrame(code: nil)
        case 1:
            return fail(.protocolError, "close frame with a one-byte payload")
        default:
            let code = WebSocketCloseCode(payload.readInteger(as: UInt16.self)!)
            guard code.isValidOnWire else {
                return fail(.protocolError, "close code \(code.rawValue) is not allowed on the wire")
            }
            let valid = payload.withUnsafeReadableBytes { UTF8Validator.isValid($0) }
            guard valid else {
                return fail(.invalidPayloadData, "close reason is not valid UTF-8")
            }
            frame = WebSocketCloseFrame(code: code, reason: String(buffer: payload))
        }
        receivedClose = frame
        // A keepalive timeout that came first keeps its 1011.
        closing.status = closing.status ?? WebSocketCloseStatus(code: frame.code ?? .noStatusReceived, reason: frame.reason)
        if state == .open {
            // Echo the peer's code, as RFC 6455 §5.5.1 asks.
            owedReply = WebSocketCloseFrame(code: frame.code)
            state = .replyOwed
        } else {
            state = .closed
        }
        message = nil
        self.frame = nil
        input = allocator.buffer(capacity: 0)
        inputIsOwned = true
        return .close(frame)
    }

    private mutating func fail(_ code: WebSocketCloseCode, _ reason: String) -> WebSocketEvent {
        failed = true
        closing.status = WebSocketCloseStatus(code: code, reason: reason)
        if state == .open {
            owedReply = WebSocketCloseFrame(code: code, reason: reason)
            state = .replyOwed
        } else {
            state = .closed
        }
        message = nil
        frame = nil
        input = allocator.buffer(capacity: 0)
        inputIsOwned = true
        return .failure(WebSocketProtocolError(code: code, reason: reason))
    }

    // MARK: - Sending

    /// Queues a whole message as one frame. `maskingKey` is used by a client (a random key when
    /// nil) and ignored by a server, which never masks.
    public mutating func send(_ message: WebSocketMessage, maskingKey: WebSocketMaskingKey? = nil) throws(WebSocketSendError) {
        switch message {
        case .text(let text):
            var buffer = allocator.buffer(capacity: text.utf8.count)
            buffer.writeString(text)
            try sendFrame(opcode: .text, payload: buffer, fin: true, maskingKey: maskingKey)
        case .binary(let bytes):
            try sendFrame(opcode: .binary, payload: bytes, fin: true, maskingKey: maskingKey)
        }
    }

    /// Queues one data frame; for sending a message in fragments (text or binary first, then
    /// continuations, the last with `fin`). The caller keeps fragments in order.
    public mutating func sendFrame(
        opcode: WebSocketOpcode,
        payload: ByteBuffer,
        fin: Bool,
        maskingKey: WebSocketMaskingKey? = nil
    ) throws(WebSocketSendError) {
        guard state == .open || state == .replyOwed else { throw .closed }
        if opcode.isControl {
            guard fin else { throw .controlPayloadTooLarge }
            guard payload.readableBytes <= 125 else { throw .controlPayloadTooLarge }
        }
        queue(opcode: opcode, payload: payload, fin: fin, maskingKey: maskingKey)
    }

    public mutating func sendPing(_ payload: ByteBuffer? = nil, maskingKey: WebSocketMaskingKey? = nil) throws(WebSocketSendError) {
        try sendFrame(opcode: .ping, payload: payload ?? allocator.buffer(capacity: 0), fin: true, maskingKey: maskingKey)
    }

    public mutating func sendPong(_ payload: ByteBuffer? = nil, maskingKey: WebSocketMaskingKey? = nil) throws(WebSocketSendError) {
        try sendFrame(opcode: .pong, payload: payload ?? allocator.buffer(capacity: 0), fin: true, maskingKey: maskingKey)
    }

    /// Starts the close handshake. A nil code sends an empty close frame. While a reply is
    /// owed, the owed reply goes out instead: the peer's code, or the failure's.
    public mutating func sendClose(
        code: WebSocketCloseCode? = .normalClosure,
        reason: String = "",
        maskingKey: WebSocketMaskingKey? = nil
    ) throws(WebSocketSendError) {
        if state == .replyOwed {
            replyToClose(maskingKey: maskingKey)
            return
        }
        guard state == .open else { throw .closed }
        if let code, !code.isValidOnWire { throw .invalidCloseCode(code) }
        guard code != nil || reason.isEmpty, 2 + reason.utf8.count <= 125 else { throw .controlPayloadTooLarge }
        sendCloseFrame(WebSocketCloseFrame(code: code, reason: reason), maskingKey: maskingKey)
    }

    /// Queues the close frame owed after a `.close` or `.failure` event: the echo of the peer's
    /// code, or the failure's code and reason. Does nothing in any other state. Call it once
    /// the application has answered the messages delivered before that event (at once, if
    /// there is nothing to wait for); then the transport may be closed after the output.
    public mutating func replyToClose(maskingKey: WebSocketMaskingKey? = nil) {
        guard state == .replyOwed, let reply = owedReply else { return }
        owedReply = nil
        sendCloseFrame(reply, maskingKey: maskingKey)
    }

    private mutating func sendCloseFrame(_ frame: WebSocketCloseFrame, maskingKey: WebSocketMaskingKey?) {
        // Reasons we generate are truncated to fit a control frame, on a character boundary.
        var reason = frame.reason
        while reason.utf8.count > 123 { reason.removeLast() }
        let payload = WebSocketFrameSerializer.closePayload(code: frame.code, reason: reason, allocator: allocator)
        queue(opcode: .close, payload: payload, maskingKey: maskingKey)
        sentClose = WebSocketCloseFrame(code: frame.code, reason: reason)
        state = receivedClose == nil && !failed ? .closeSent : .closed
    }

    private mutating func queue(opcode: WebSocketOpcode, payload: ByteBuffer, fin: Bool = true, maskingKey: WebSocketMaskingKey?) {
        let key: WebSocketMaskingKey? = role == .client ? (maskingKey ?? maskingKeys.key()) : nil
        let header = WebSocketFrameHeader(fin: fin, opcode: opcode, maskingKey: key, payloadLength: payload.readableBytes)
        queued.append(WebSocketOutgoingFrame(header: header, payload: payload))
    }

    // MARK: - Output

    public var hasOutput: Bool { !queued.isEmpty || !output.isEmpty }

    /// Serializes every frame sent since the last drain, as one batch, and hands the buffers,
    /// in order, to `write` (with a flag on the last one). Drain when the transport flushes,
    /// not after every send: a batch of small frames becomes one buffer.
    public mutating func drainOutput(_ write: (ByteBuffer, _ isLast: Bool) throws -> Void) rethrows {
        var pending = drained
        drained = []
        moveOutput(into: &pending)
        defer {
            pending.removeAll(keepingCapacity: true)
            drained = pending
        }
        for index in pending.indices {
            try write(pending[index], index == pending.count - 1)
        }
    }

    /// Serializes every frame sent since the last drain and moves the buffers into `buffers`
    /// (which must be empty), taking its storage in exchange. Nothing of the machine is being
    /// accessed while the caller then writes them, so a write whose completion sends again
    /// (into this same machine) is safe.
    public mutating func moveOutput(into buffers: inout [ByteBuffer]) {
        precondition(buffers.isEmpty, "moveOutput needs an empty array to swap in")
        serializeQueued()
        swap(&output, &buffers)
    }

    /// All queued output as one buffer (tests and simple tools).
    public mutating func takeOutput() -> ByteBuffer {
        serializeQueued()
        var result = allocator.buffer(capacity: output.reduce(0) { $0 + $1.readableBytes })
        drainOutput { buffer, _ in result.writeImmutableBuffer(buffer) }
        return result
    }

    private mutating func serializeQueued() {
        guard !queued.isEmpty else { return }
        WebSocketFrameSerializer.serialize(queued, allocator: allocator, into: &output)
        queued.removeAll(keepingCapacity: true)
    }
}
