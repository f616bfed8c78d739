/* The network module's build id: the executable loads only the module built beside it
 * (PG_NET_MODULE_ID is drawn once per build tree; CMakeLists.txt). */
extern const char pg_net_module_id[];
const char pg_net_module_id[] = PG_NET_MODULE_ID;
