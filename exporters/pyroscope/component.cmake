# Sends over the HTTP client (libcurl): in the network module.
pg_component_module()
pg_component_link(pg_net)
