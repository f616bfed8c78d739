# The hash action is OpenSSL's SHA-256 (Makefile: libssl-dev), whose loading costs start-up
# time: in the network module.
pg_component_module()
pg_component_pkg(CRYPTO libcrypto)
