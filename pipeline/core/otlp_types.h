/* Short names for the protobuf-c types generated from the pinned OTLP protos, and
 * arena constructors for them. Every struct here is owned by the arena it came from. */
#ifndef PG_OTLP_TYPES_H
#define PG_OTLP_TYPES_H

#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"
#include "opentelemetry/proto/common/v1/common.pb-c.h"
#include "opentelemetry/proto/profiles/v1development/profiles.pb-c.h"
#include "opentelemetry/proto/resource/v1/resource.pb-c.h"
#include "pipeline/core/arena.h"

typedef Opentelemetry__Proto__Profiles__V1development__ProfilesData pg_otlp_data;
typedef Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary pg_otlp_dict;
typedef Opentelemetry__Proto__Profiles__V1development__ResourceProfiles pg_otlp_rprofiles;
typedef Opentelemetry__Proto__Profiles__V1development__ScopeProfiles pg_otlp_sprofiles;
typedef Opentelemetry__Proto__Profiles__V1development__Profile pg_otlp_profile;
typedef Opentelemetry__Proto__Profiles__V1development__Sample pg_otlp_sample;
typedef Opentelemetry__Proto__Profiles__V1development__Mapping pg_otlp_mapping;
typedef Opentelemetry__Proto__Profiles__V1development__Location pg_otlp_location;
typedef Opentelemetry__Proto__Profiles__V1development__Line pg_otlp_line;
typedef Opentelemetry__Proto__Profiles__V1development__Function pg_otlp_function;
typedef Opentelemetry__Proto__Profiles__V1development__Stack pg_otlp_stack;
typedef Opentelemetry__Proto__Profiles__V1development__Link pg_otlp_link;
typedef Opentelemetry__Proto__Profiles__V1development__ValueType pg_otlp_valuetype;
typedef Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit pg_otlp_attr;
typedef Opentelemetry__Proto__Common__V1__AnyValue pg_otlp_any;
typedef Opentelemetry__Proto__Common__V1__ArrayValue pg_otlp_array;
typedef Opentelemetry__Proto__Common__V1__KeyValueList pg_otlp_kvlist;
typedef Opentelemetry__Proto__Common__V1__KeyValue pg_otlp_kv;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pg_otlp_scope;
typedef Opentelemetry__Proto__Common__V1__EntityRef pg_otlp_entityref;
typedef Opentelemetry__Proto__Resource__V1__Resource pg_otlp_resource;
typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceRequest
    pg_otlp_export_request;
typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceResponse
    pg_otlp_export_response;

#define PG_ANY_NONE OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET
#define PG_ANY_STRING OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define PG_ANY_BOOL OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE
#define PG_ANY_INT OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE
#define PG_ANY_DOUBLE OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE
#define PG_ANY_ARRAY OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE
#define PG_ANY_KVLIST OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE
#define PG_ANY_BYTES OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE
#define PG_ANY_STRINDEX OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX

#define PG_OTLP_DESC(name) opentelemetry__proto__profiles__v1development__##name##__descriptor

/* Arena constructors: each returns a zero-initialised message (protobuf-c __INIT) owned by
 * `a`, or NULL when the arena is over its cap. pg_otlp_dict_new and pg_otlp_profile_new
 * return the `msg` member of a batch pg_dictionary / pg_profile (pipeline/core/stacks.h,
 * samples.h): the only form a batch tree holds. */
pg_otlp_data *pg_otlp_data_new(pg_arena *a);
pg_otlp_dict *pg_otlp_dict_new(pg_arena *a);
pg_otlp_rprofiles *pg_otlp_rprofiles_new(pg_arena *a);
pg_otlp_sprofiles *pg_otlp_sprofiles_new(pg_arena *a);
pg_otlp_profile *pg_otlp_profile_new(pg_arena *a);
pg_otlp_sample *pg_otlp_samples_new(pg_arena *a, size_t n); /* array of n, each initialised */
pg_otlp_mapping *pg_otlp_mapping_new(pg_arena *a);
pg_otlp_location *pg_otlp_location_new(pg_arena *a);
pg_otlp_line *pg_otlp_lines_new(pg_arena *a, size_t n);
pg_otlp_function *pg_otlp_function_new(pg_arena *a);
pg_otlp_stack *pg_otlp_stack_new(pg_arena *a);
pg_otlp_link *pg_otlp_link_new(pg_arena *a);
pg_otlp_valuetype *pg_otlp_valuetype_new(pg_arena *a);
pg_otlp_attr *pg_otlp_attr_new(pg_arena *a);
pg_otlp_any *pg_otlp_any_new(pg_arena *a);
pg_otlp_array *pg_otlp_array_new(pg_arena *a);
pg_otlp_kvlist *pg_otlp_kvlist_new(pg_arena *a);
pg_otlp_kv *pg_otlp_kv_new(pg_arena *a);
pg_otlp_scope *pg_otlp_scope_new(pg_arena *a);
pg_otlp_resource *pg_otlp_resource_new(pg_arena *a);

/* Appends `item` to a small arena-owned pointer array (*arr, *n), growing it in the arena
 * (linear growth: for tree levels, not dictionary tables). Returns 0 or pg_arena_status(a). */
int pg_otlp_push(pg_arena *a, void ***arr, size_t *n, void *item);

#endif
