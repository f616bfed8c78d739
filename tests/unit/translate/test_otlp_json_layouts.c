/* OTLP/JSON in an earlier development layout of the Profiles messages is refused with an
 * error that names the field and the version profgate speaks, never read as profiles
 * without samples; fields unknown to every layout are still skipped. */
#include "testlib.h"

#include "pipeline/core/err.h"
#include "pipeline/translate/otlp_codec.h"

/* Decodes a ProfilesData document around one profile body `profile` (JSON object text)
 * and dictionary `dict`; returns the status, the message in err. */
static int decode(const char *profile, const char *dict, char *err, size_t errlen)
{
    char doc[2048];
    snprintf(doc, sizeof doc,
             "{\"resourceProfiles\":[{\"scopeProfiles\":[{\"profiles\":[%s]}]}],"
             "\"dictionary\":%s}",
             profile, dict);
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    pg_batch *b = pg_batch_new(0);
    err[0] = 0;
    int rc = pg_otlp_decode_json(b, (const uint8_t *)doc, strlen(doc), &lim, err, errlen);
    pg_batch_free(b);
    return rc;
}

static const char *DICT =
    "{\"stringTable\":[\"\",\"cpu\"],\"stackTable\":[{},{\"locationIndices\":[1]}],"
    "\"locationTable\":[{},{\"lines\":[{\"functionIndex\":1}]}],"
    "\"functionTable\":[{},{\"nameStrindex\":1}]}";

static void refused(const char *profile, const char *dict, const char *field)
{
    char err[512];
    int rc = decode(profile, dict, err, sizeof err);
    CHECK_MSG(rc == PG_EUNSUP && strstr(err, field) && strstr(err, "earlier development layout") &&
                  strstr(err, "v1.11.0"),
              "%s: rc %d: %s", field, rc, err);
}

static void test_older_layouts(void)
{
    refused("{\"sampleType\":{\"typeStrindex\":1},\"sample\":[{\"stackIndex\":1,\"values\":[1]}]}",
            DICT, "Profile.sample");
    refused("{\"samples\":[{\"locationsStartIndex\":0,\"locationsLength\":1,\"value\":[1]}]}", DICT,
            "Sample.locationsStartIndex");
    refused("{\"samples\":[{\"locations_start_index\":0}]}", DICT, "Sample.locations_start_index");
    refused("{\"samples\":[{\"stackIndex\":1,\"value\":[1]}]}", DICT, "Sample.value");
    refused("{\"samples\":[{\"stackIndex\":1,\"values\":[1]}]}",
            "{\"stringTable\":[\"\"],\"locationTable\":[{},{\"line\":[{\"functionIndex\":0}]}]}",
            "Location.line");
    refused("{\"locationIndices\":[1],\"stringTable\":[\"\",\"cpu\"]}", DICT,
            "Profile.locationIndices");
}

static void test_current_and_unknown(void)
{
    char err[512];
    CHECK_MSG(
        decode(
            "{\"sampleType\":{\"typeStrindex\":1},\"samples\":[{\"stackIndex\":1,\"values\":[1]}]}",
            DICT, err, sizeof err) == 0,
        "%s", err);
    CHECK_MSG(decode("{\"samples\":[{\"stackIndex\":1,\"values\":[1],\"someFutureField\":3}],"
                     "\"anotherNewThing\":{\"x\":1}}",
                     DICT, err, sizeof err) == 0,
              "%s", err);
}

int main(void)
{
    test_older_layouts();
    test_current_and_unknown();
    TEST_MAIN_END();
}
