# The otlp exporter's client uses the gRPC C core (Makefile: libgrpc-dev): in the network
# module.
pg_component_pkg(GRPC grpc)
pg_component_link(Threads::Threads)
pg_component_module()
pg_component_link(pg_net)
