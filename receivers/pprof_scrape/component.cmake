# Scrapes with libcurl (Makefile: libcurl4-openssl-dev): in the network module.
pg_component_module()
pg_component_pkg(CURL libcurl)
