# Listens on the network stack (pg_net: OpenSSL, nghttp2, http-parser): in the network module.
pg_component_module()
pg_component_link(pg_net)
