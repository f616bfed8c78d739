/* Bringing trees that protobuf-c (or the descriptor-driven JSON codec) unpacked into the
 * one form a batch holds: every Profile a pg_profile with its samples in columns, the
 * dictionary a pg_dictionary with its stacks in columns (see samples.h, stacks.h). Every
 * decoder that lets protobuf-c allocate Profile or ProfilesDictionary messages calls
 * these right after the decode, before anything reads the tree. */
#ifndef PG_ADOPT_H
#define PG_ADOPT_H

#include "pipeline/core/samples.h"
#include "pipeline/core/stacks.h"

/* Returns a batch dictionary (the msg of a new pg_dictionary in a) holding plain's
 * tables, its Stack structs (if any) converted into the stack columns; plain's arrays
 * are borrowed into the result (they must live in a as well). NULL over the arena's
 * cap. */
pg_otlp_dict *pg_dict_adopt(pg_arena *a, const pg_otlp_dict *plain);

/* Returns a batch profile (the msg of a new pg_profile in a) holding plain's fields, its
 * Sample structs converted into columns (identity columns equal to those of `like`, which
 * may be NULL, are shared with it, read-only). NULL over the arena's cap. */
pg_otlp_profile *pg_profile_adopt(pg_arena *a, const pg_otlp_profile *plain,
                                  const pg_samples *like);

/* Replaces, in place, every Profile pointer of d and d->dictionary (when set) by adopted
 * copies. d and everything it points to must live in a. Returns 0 or PG_ELIMIT over the
 * arena's cap. */
int pg_otlp_data_adopt(pg_arena *a, pg_otlp_data *d);

#endif
