"""Operations: `callcenter doctor`, Prometheus metrics, structured logs."""
