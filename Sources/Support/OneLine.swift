/// An error as one line: libpq messages span several lines, and logs and start-up failures want one.
/// Each line is trimmed of its spaces and tabs (after splitting on newlines, the standard library's
/// whitespace is Foundation's `.whitespaces`: Unicode's Zs and the tab).
public func oneLine(_ error: any Error) -> String {
    String(describing: error).split(whereSeparator: \.isNewline).map(trimmed).joined(separator: " ")
}

private func trimmed(_ line: Substring) -> Substring {
    guard let first = line.firstIndex(where: { !$0.isWhitespace }),
          let last = line.lastIndex(where: { !$0.isWhitespace })
    else { return "" }
    return line[first...last]
}
