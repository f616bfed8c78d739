#include "pipeline/service.h"
#include "pipeline/core/err.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/telemetry/sd_notify.h"
#include "pipeline/telemetry/telemetry.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

/* What woke the loop. */
typedef struct run_state {
    pg_host *host;
    volatile sig_atomic_t stop, reload;
} run_state;

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    run_state *s = arg;
    if (sig == SIGHUP)
        s->reload = 1;
    else
        s->stop = 1;
    pg_host_stop_loop(s->host);
}

/* Loads the files; prints diagnostics; returns the config or NULL. */
static pg_config *load(const char *const *paths, size_t n, const pg_cfg_registry *reg)
{
    pg_cfg_diags *d = pg_cfg_diags_new();
    pg_config *cfg = NULL;
    if (!d) return NULL;
    int rc = pg_config_load_files(paths, n, reg, &cfg, d);
    for (size_t i = 0; i < pg_cfg_diags_count(d, PG_CFG_WARNING); i++)
        pg_log(PG_LOG_WARN, "config", "%s", pg_cfg_diags_get(d, PG_CFG_WARNING, i)->text);
    for (size_t i = 0; i < pg_cfg_diags_count(d, PG_CFG_ERROR); i++)
        pg_log(PG_LOG_ERROR, "config", "%s", pg_cfg_diags_get(d, PG_CFG_ERROR, i)->text);
    pg_cfg_diags_free(d);
    return rc ? NULL : cfg;
}

int pg_service_validate(const char *const *paths, size_t n, const pg_cfg_registry *reg)
{
    pg_cfg_diags *d = pg_cfg_diags_new();
    pg_config *cfg = NULL;
    int rc = pg_config_load_files(paths, n, reg, &cfg, d);
    pg_cfg_diags_write(d, PG_CFG_WARNING, stderr);
    size_t errors = pg_cfg_diags_write(d, PG_CFG_ERROR, stderr);
    if (!rc)
        fprintf(stderr, "profgate validate: configuration is valid\n");
    else if (!errors)
        fprintf(stderr, "profgate validate: cannot load the configuration\n");
    pg_cfg_diags_free(d);
    pg_config_free(cfg);
    return rc ? 2 : 0;
}

/* Builds and starts a graph for cfg; NULL on failure (logged). */
static pg_graph *bring_up(const pg_config *cfg, pg_factory_lookup lookup, pg_host *h)
{
    char err[512] = "";
    pg_graph *g = NULL;
    if (pg_graph_build(cfg, lookup, h, &g, err, sizeof err) || pg_graph_start(g, err, sizeof err)) {
        pg_log(PG_LOG_ERROR, NULL, "cannot start: %s", err);
        pg_graph_free(g);
        return NULL;
    }
    return g;
}

static void configure_logs(const pg_config *cfg)
{
    const pg_cfg_telemetry *t = &pg_config_service(cfg)->telemetry;
    pg_log_configure((pg_log_level)t->logs.level, t->logs.encoding == PG_CFG_LOG_JSON);
}

/* Stops the graph within the configured shutdown timeout and frees it. */
static void bring_down(pg_graph *g, const pg_config *cfg)
{
    int64_t timeout = pg_config_service(cfg)->shutdown_timeout;
    pg_graph_shutdown(g, pg_now_mono_ns() + timeout);
    pg_graph_free(g);
}

int pg_service_run(const char *const *paths, size_t n, pg_factory_lookup lookup,
                   const pg_cfg_registry *reg)
{
    pg_config *cfg = load(paths, n, reg);
    if (!cfg) return 2;
    configure_logs(cfg);
    signal(SIGPIPE, SIG_IGN);
    run_state st = {0};
    pg_host *h = st.host = pg_host_new();
    if (!h) {
        pg_config_free(cfg);
        return 1;
    }
    pg_metrics_add_process(pg_host_metrics(h));
    const pg_cfg_telemetry *tel = &pg_config_service(cfg)->telemetry;
    pg_telemetry_server *ts = NULL;
    char err[512] = "";
    if (tel->metrics.level != PG_CFG_METRICS_NONE &&
        pg_telemetry_server_start(h, tel->metrics.address.host, tel->metrics.address.port, &ts, err,
                                  sizeof err)) {
        pg_log(PG_LOG_ERROR, NULL, "cannot serve metrics on %s: %s", tel->metrics.address.text,
               err);
        pg_host_free(h);
        pg_config_free(cfg);
        return 1;
    }
    pg_graph *g = bring_up(cfg, lookup, h);
    int code = g ? 0 : 1;
    struct event *sigs[3] = {NULL, NULL, NULL};
    const int signos[3] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3 && g; i++) {
        sigs[i] = evsignal_new(pg_host_event_base(h), signos[i], on_signal, &st);
        if (sigs[i]) evsignal_add(sigs[i], NULL);
    }
    if (g) {
        pg_log(PG_LOG_INFO, NULL, "profgate is running (%zu pipelines)",
               pg_config_pipeline_count(cfg));
        pg_sd_notify("READY=1");
    }
    while (g) {
        pg_host_run_loop(h);
        const char *why = NULL;
        if (pg_host_failed(h, &why)) {
            pg_log(PG_LOG_ERROR, NULL, "shutting down after a fatal error: %s", why);
            code = 1;
            break;
        }
        if (st.stop) {
            pg_log(PG_LOG_INFO, NULL, "signal received: draining and shutting down");
            pg_sd_notify("STOPPING=1");
            break;
        }
        if (st.reload) {
            st.reload = 0;
            pg_log(PG_LOG_INFO, NULL, "SIGHUP: reloading the configuration");
            pg_sd_notify("RELOADING=1");
            pg_config *next = load(paths, n, reg);
            if (!next) {
                pg_log(PG_LOG_ERROR, NULL, "reload failed: keeping the running configuration");
                pg_sd_notify("READY=1");
                continue;
            }
            bring_down(g, cfg);
            configure_logs(next);
            g = bring_up(next, lookup, h);
            if (g) {
                pg_config_free(cfg);
                cfg = next;
                pg_log(PG_LOG_INFO, NULL, "reloaded: %zu pipelines", pg_config_pipeline_count(cfg));
                pg_sd_notify("READY=1");
                continue;
            }
            pg_log(PG_LOG_ERROR, NULL,
                   "the new configuration did not start; restoring the old one");
            pg_config_free(next);
            configure_logs(cfg);
            g = bring_up(cfg, lookup, h);
            if (g)
                pg_sd_notify("READY=1");
            else
                code = 1;
        }
    }
    if (g) bring_down(g, cfg);
    for (int i = 0; i < 3; i++)
        if (sigs[i]) event_free(sigs[i]);
    pg_telemetry_server_stop(ts);
    pg_host_free(h);
    pg_config_free(cfg);
    pg_log(PG_LOG_INFO, NULL, "stopped");
    return code;
}
