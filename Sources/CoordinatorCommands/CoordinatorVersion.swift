/// The version the commands report: `coordinator --version`, `/buildinfo`, a replica's row and a
/// daemon's hello.
public enum CoordinatorVersion {
    public static let current = "0.1.0"
}
