// Users of the metrics name the Prometheus types (Counter, Gauge, DurationHistogram) directly.
@_exported import Prometheus
