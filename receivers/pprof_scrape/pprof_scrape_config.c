/* pprof_scrape config: the table (defaults from Alloy's pyroscope.scrape: 15s interval,
 * 10s timeout, its profiling_config paths) and the checks across fields. */
#include "receivers/pprof_scrape/pprof_scrape_int.h"

#include "pipeline/core/err.h"

#include <stddef.h>
#include <string.h>

typedef pg_pprof_scrape_config C;
typedef pg_scrape_profile_cfg P;

/* A profile type's table: enabled, path and delta with their own defaults. */
#define PROFILE_TABLE(NAME, ENABLED, PATH, DELTA, SECONDS)                                         \
    static const pg_cfg_field NAME[] = {                                                           \
        {.key = "enabled",                                                                         \
         .type = PG_CFG_BOOL,                                                                      \
         .offset = offsetof(P, enabled),                                                           \
         .def = ENABLED,                                                                           \
         .doc = "scrape this profile type"},                                                       \
        {.key = "path",                                                                            \
         .type = PG_CFG_STRING,                                                                    \
         .offset = offsetof(P, path),                                                              \
         .def = PATH,                                                                              \
         .doc = "the endpoint's path (after path_prefix)"},                                        \
        {.key = "delta",                                                                           \
         .type = PG_CFG_BOOL,                                                                      \
         .offset = offsetof(P, delta),                                                             \
         .def = DELTA,                                                                             \
         .doc = "cumulative: emit the difference to the previous scrape (inuse_* kept)"},          \
        {.key = "seconds",                                                                         \
         .type = PG_CFG_BOOL,                                                                      \
         .offset = offsetof(P, seconds),                                                           \
         .def = SECONDS,                                                                           \
         .doc = "a duration profile: add ?seconds=<scrape_interval - 1s>"},                        \
        {0},                                                                                       \
    }

PROFILE_TABLE(CPU_T, "true", "/debug/pprof/profile", "false", "true");
PROFILE_TABLE(MEMORY_T, "true", "/debug/pprof/allocs", "true", "false");
PROFILE_TABLE(GOROUTINE_T, "true", "/debug/pprof/goroutine", "false", "false");
PROFILE_TABLE(MUTEX_T, "true", "/debug/pprof/mutex", "true", "false");
PROFILE_TABLE(BLOCK_T, "true", "/debug/pprof/block", "true", "false");
PROFILE_TABLE(DMEM_T, "false", "/debug/pprof/delta_heap", "false", "false");
PROFILE_TABLE(DMUTEX_T, "false", "/debug/pprof/delta_mutex", "false", "false");
PROFILE_TABLE(DBLOCK_T, "false", "/debug/pprof/delta_block", "false", "false");

static const pg_cfg_field CUSTOM_T[] = {
    {.key = "name",
     .type = PG_CFG_STRING,
     .offset = offsetof(P, name),
     .required = true,
     .doc = "the profile's name (resource attribute pprof_scrape.profile)"},
    {.key = "path",
     .type = PG_CFG_STRING,
     .offset = offsetof(P, path),
     .required = true,
     .doc = "the endpoint's path (after path_prefix)"},
    {.key = "enabled",
     .type = PG_CFG_BOOL,
     .offset = offsetof(P, enabled),
     .def = "true",
     .doc = "scrape it"},
    {.key = "delta",
     .type = PG_CFG_BOOL,
     .offset = offsetof(P, delta),
     .def = "false",
     .doc = "cumulative: emit the difference to the previous scrape"},
    {.key = "seconds",
     .type = PG_CFG_BOOL,
     .offset = offsetof(P, seconds),
     .def = "false",
     .doc = "a duration profile: add ?seconds=<scrape_interval - 1s>"},
    {.offset = sizeof(P)},
};

typedef pg_scrape_profiling_cfg PC;
#define PROFILE_FIELD(KEY, MEMBER, TABLE)                                                          \
    {                                                                                              \
        .key = KEY, .type = PG_CFG_SECTION, .offset = offsetof(PC, MEMBER), .section = TABLE,      \
        .doc = "profile type " KEY                                                                 \
    }

static const pg_cfg_field PROFILING_T[] = {
    {.key = "path_prefix",
     .type = PG_CFG_STRING,
     .offset = offsetof(PC, path_prefix),
     .doc = "prefix of every path (a service mounted under a sub-path)"},
    PROFILE_FIELD("process_cpu", process_cpu, CPU_T),
    PROFILE_FIELD("memory", memory, MEMORY_T),
    PROFILE_FIELD("goroutine", goroutine, GOROUTINE_T),
    PROFILE_FIELD("mutex", mutex, MUTEX_T),
    PROFILE_FIELD("block", block, BLOCK_T),
    PROFILE_FIELD("godeltaprof_memory", godeltaprof_memory, DMEM_T),
    PROFILE_FIELD("godeltaprof_mutex", godeltaprof_mutex, DMUTEX_T),
    PROFILE_FIELD("godeltaprof_block", godeltaprof_block, DBLOCK_T),
    {.key = "custom",
     .type = PG_CFG_SECTION_LIST,
     .offset = offsetof(PC, custom),
     .section = CUSTOM_T,
     .doc = "more profile types: [{name, path, enabled, delta, seconds}]"},
    {0},
};

typedef pg_scrape_target_cfg T;
static const pg_cfg_field TARGET_T[] = {
    {.key = "endpoint",
     .type = PG_CFG_STRING,
     .offset = offsetof(T, endpoint),
     .required = true,
     .doc = "host:port of the target"},
    {.key = "labels",
     .type = PG_CFG_STRING_MAP,
     .offset = offsetof(T, labels),
     .doc = "labels: resource attributes of its profiles (service_name sets service.name)"},
    {.offset = sizeof(T)},
};

typedef pg_scrape_file_sd_cfg FS;
static const pg_cfg_field FILE_SD_T[] = {
    {.key = "files",
     .type = PG_CFG_STRING_LIST,
     .offset = offsetof(FS, files),
     .doc = "globs of Prometheus file_sd files (.json, .yaml, .yml)"},
    {.key = "refresh_interval",
     .type = PG_CFG_DURATION,
     .offset = offsetof(FS, refresh_interval),
     .def = "30s",
     .min = "10ms",
     .doc = "how often the files are checked for changes"},
    {0},
};

typedef pg_scrape_tls_cfg TL;
static const pg_cfg_field TLS_T[] = {
    {.key = "ca_file",
     .type = PG_CFG_STRING,
     .offset = offsetof(TL, ca_file),
     .doc = "CA bundle that verifies the targets"},
    {.key = "cert_file",
     .type = PG_CFG_STRING,
     .offset = offsetof(TL, cert_file),
     .doc = "client certificate (mTLS)"},
    {.key = "key_file",
     .type = PG_CFG_STRING,
     .offset = offsetof(TL, key_file),
     .doc = "client key (mTLS)"},
    {.key = "insecure_skip_verify",
     .type = PG_CFG_BOOL,
     .offset = offsetof(TL, insecure_skip_verify),
     .def = "false",
     .doc = "do not verify the target's certificate"},
    {0},
};

typedef pg_scrape_basic_auth_cfg BA;
static const pg_cfg_field BASIC_T[] = {
    {.key = "username", .type = PG_CFG_STRING, .offset = offsetof(BA, username), .doc = "user"},
    {.key = "password", .type = PG_CFG_STRING, .offset = offsetof(BA, password), .doc = "password"},
    {0},
};

const pg_cfg_field pg_scrape_fields[] = {
    {.key = "job_name",
     .type = PG_CFG_STRING,
     .offset = offsetof(C, job_name),
     .doc = "the job label (and service.name without a service_name label); default: the id"},
    {.key = "scrape_interval",
     .type = PG_CFG_DURATION,
     .offset = offsetof(C, scrape_interval),
     .def = "15s",
     .min = "100ms",
     .doc = "how often each target's profiles are scraped"},
    {.key = "scrape_timeout",
     .type = PG_CFG_DURATION,
     .offset = offsetof(C, scrape_timeout),
     .def = "10s",
     .min = "10ms",
     .doc = "per request (duration profiles get interval - 1s more); at most scrape_interval"},
    {.key = "scheme",
     .type = PG_CFG_ENUM,
     .offset = offsetof(C, scheme),
     .def = "http",
     .enum_values = pg_scrape_schemes,
     .doc = "http or https"},
    {.key = "params",
     .type = PG_CFG_STRING_MAP,
     .offset = offsetof(C, params),
     .doc = "query parameters added to every request"},
    {.key = "headers",
     .type = PG_CFG_STRING_MAP,
     .offset = offsetof(C, headers),
     .doc = "headers added to every request"},
    {.key = "bearer_token",
     .type = PG_CFG_STRING,
     .offset = offsetof(C, bearer_token),
     .doc = "Authorization: Bearer <token>"},
    {.key = "basic_auth",
     .type = PG_CFG_SECTION,
     .offset = offsetof(C, basic_auth),
     .section = BASIC_T,
     .doc = "HTTP basic authentication"},
    {.key = "tls",
     .type = PG_CFG_SECTION,
     .offset = offsetof(C, tls),
     .section = TLS_T,
     .doc = "TLS towards the targets (scheme https)"},
    {.key = "max_body_size",
     .type = PG_CFG_SIZE,
     .offset = offsetof(C, max_body_size),
     .def = "64MiB",
     .min = "1KiB",
     .doc = "largest response body; larger is an error"},
    {.key = "max_targets",
     .type = PG_CFG_INT,
     .offset = offsetof(C, max_targets),
     .def = "10000",
     .min = "1",
     .doc = "targets scraped at most (more are ignored, counted)"},
    {.key = "max_series",
     .type = PG_CFG_INT,
     .offset = offsetof(C, max_series),
     .def = "100000",
     .min = "1",
     .doc = "delta series (target x profile type) kept at most"},
    {.key = "targets",
     .type = PG_CFG_SECTION_LIST,
     .offset = offsetof(C, targets),
     .section = TARGET_T,
     .doc = "static targets: [{endpoint, labels}]"},
    {.key = "file_sd",
     .type = PG_CFG_SECTION,
     .offset = offsetof(C, file_sd),
     .section = FILE_SD_T,
     .doc = "targets from Prometheus file_sd files"},
    {.key = "profiling_config",
     .type = PG_CFG_SECTION,
     .offset = offsetof(C, profiling_config),
     .section = PROFILING_T,
     .doc = "profile types: enabled, path, delta"},
    {0},
};

const char *const pg_scrape_schemes[] = {"http", "https", NULL};

/* Cross-field checks: the timeout within the interval, a source of targets, complete
 * credentials. */
int pg_scrape_validate(const void *cfg, char *err, size_t errlen)
{
    const C *c = cfg;
    if (c->scrape_timeout > c->scrape_interval)
        return pg_err(err, errlen, PG_EINVAL,
                      "scrape_timeout (%lld ms) must not exceed scrape_interval (%lld ms)",
                      (long long)(c->scrape_timeout / 1000000),
                      (long long)(c->scrape_interval / 1000000));
    if (!c->targets.n && !c->file_sd.files.n)
        return pg_err(err, errlen, PG_EINVAL, "no targets: set targets or file_sd.files");
    if ((c->basic_auth.username != NULL) != (c->basic_auth.password != NULL))
        return pg_err(err, errlen, PG_EINVAL, "basic_auth needs both username and password");
    if (c->bearer_token && c->basic_auth.username)
        return pg_err(err, errlen, PG_EINVAL, "set bearer_token or basic_auth, not both");
    if ((c->tls.cert_file != NULL) != (c->tls.key_file != NULL))
        return pg_err(err, errlen, PG_EINVAL, "tls needs both cert_file and key_file");
    const pg_scrape_profile_cfg *cu = c->profiling_config.custom.items;
    for (size_t i = 0; i < c->profiling_config.custom.n; i++)
        if (!cu[i].name || !*cu[i].name || !cu[i].path || cu[i].path[0] != '/')
            return pg_err(err, errlen, PG_EINVAL,
                          "profiling_config.custom[%zu]: a name and a path starting with / needed",
                          i);
    return 0;
}
