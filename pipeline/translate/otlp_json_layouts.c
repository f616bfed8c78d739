/* Field names that earlier development layouts of the OTLP Profiles messages used and
 * v1.11.0 does not. OTLP/JSON readers skip unknown fields, but these are not unknown: a
 * payload that carries one was written against an older layout, and reading it as v1.11.0
 * would silently yield profiles without samples. The decoder refuses it instead. */
#include "pipeline/translate/otlp_json.h"

#include <string.h>

typedef struct older {
    const char *message; /* descriptor short name */
    const char *fields[24];
} older;

/* snake_case names; the JSON key may be their camelCase or snake_case form. */
static const older OLDER[] = {
    {"Profile",
     {"sample",
      "location_indices",
      "mapping_table",
      "location_table",
      "function_table",
      "string_table",
      "attribute_table",
      "link_table",
      "attribute_units",
      "time_nanos",
      "duration_nanos",
      "default_sample_type_index",
      "default_sample_type_strindex",
      "comment_strindices",
      "comment",
      "drop_frames",
      "keep_frames",
      "default_sample_type",
      "location",
      "function",
      "profile",
      "start_time_unix_nano",
      "end_time_unix_nano"}},
    {"Sample",
     {"locations_start_index", "locations_length", "value", "location_index", "stacktrace_id_index",
      "label", "link"}},
    {"Location", {"line", "type_index", "is_folded"}},
    {"Mapping",
     {"filename", "build_id", "build_id_kind", "has_functions", "has_filenames", "has_line_numbers",
      "has_inline_frames"}},
    {"Function", {"name", "system_name", "filename"}},
    {"ProfilesDictionary", {"attribute_units"}},
};

const char *pg_otlp_json_older_field(const char *message, const char *key)
{
    for (size_t i = 0; i < sizeof OLDER / sizeof OLDER[0]; i++) {
        if (strcmp(OLDER[i].message, message)) continue;
        for (size_t j = 0; j < 24 && OLDER[i].fields[j]; j++)
            if (pg_json_name_eq(OLDER[i].fields[j], key) || !strcmp(OLDER[i].fields[j], key))
                return OLDER[i].fields[j];
    }
    return NULL;
}
