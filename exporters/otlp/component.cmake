# The otlp exporter's client uses the gRPC C core (Makefile: libgrpc-dev).
pg_component_pkg(GRPC grpc)
pg_component_link(Threads::Threads)
