/* Parsing JSON with cJSON into a bump arena.
 *
 * cJSON allocates one node and one or two strings for every value and frees them one by one;
 * a DescribeImageBuilders page of 25 builders is some 3,000 mallocs and 3,000 frees, which
 * cost more than the parsing itself. A tree parsed here lives in a few large blocks instead
 * and is released in one go, without being walked. */
#pragma once

#include <cjson/cJSON.h>
#include <stddef.h>

struct json_arena_block;

/* Zero-initialise; nothing to set up. */
struct json_arena {
        struct json_arena_block *blocks; /* newest first */
        size_t used;                     /* bytes taken from the newest block */
};

/* Parses len bytes of text into a tree owned by arena (valid until json_arena_release()).
 * Returns NULL when the text is not JSON or memory runs out. The tree must never be given to
 * cJSON_Delete() nor modified. Not reentrant: it borrows cJSON's global allocator for the
 * length of the call, which is safe in this single-threaded daemon. */
cJSON *json_arena_parse(struct json_arena *arena, const char *text, size_t len);

/* Frees everything parsed into arena and leaves it empty, ready for the next parse. */
void json_arena_release(struct json_arena *arena);
