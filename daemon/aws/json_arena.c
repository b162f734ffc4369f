/* A bump allocator behind cJSON's allocation hooks; see json_arena.h for why. */
#include "json_arena.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Below glibc's mmap threshold, so a released block goes back to the heap and the next page
 * reuses it instead of mapping and unmapping memory every parse. */
#define BLOCK_SIZE (32 * 1024)
#define ALIGN alignof(max_align_t)

struct json_arena_block {
        struct json_arena_block *next;
        size_t size;
        alignas(max_align_t) unsigned char data[];
};

/* cJSON's hooks take no context pointer, so the arena being filled is found here. It is set
 * only for the length of json_arena_parse(). */
static struct json_arena *current;

static void *arena_alloc(size_t size)
{
        struct json_arena *a = current;
        size_t need = (size + ALIGN - 1) / ALIGN * ALIGN;

        if (need < size || need > SIZE_MAX - sizeof(struct json_arena_block))
                return NULL;
        if (!a->blocks || a->blocks->size - a->used < need) {
                size_t data =
                    need > BLOCK_SIZE / 4 ? need : BLOCK_SIZE - sizeof(struct json_arena_block);
                struct json_arena_block *b = malloc(sizeof(*b) + data);

                if (!b)
                        return NULL;
                b->size = data;
                /* An oversized value gets a block of its own behind the current one, so the
                 * space left in the current block is not thrown away. */
                if (need > BLOCK_SIZE / 4 && a->blocks) {
                        b->next = a->blocks->next;
                        a->blocks->next = b;
                        return b->data;
                }
                b->next = a->blocks;
                a->blocks = b;
                a->used = 0;
        }
        void *p = a->blocks->data + a->used;
        a->used += need;
        return p;
}

/* Everything is released together by json_arena_release(). */
static void arena_free(void *ptr)
{
        (void)ptr;
}

cJSON *json_arena_parse(struct json_arena *arena, const char *text, size_t len)
{
        cJSON_Hooks hooks = {.malloc_fn = arena_alloc, .free_fn = arena_free};
        cJSON *root;

        current = arena;
        cJSON_InitHooks(&hooks);
        root = cJSON_ParseWithLength(text, len);
        cJSON_InitHooks(NULL);
        current = NULL;
        return root;
}

void json_arena_release(struct json_arena *arena)
{
        while (arena->blocks) {
                struct json_arena_block *next = arena->blocks->next;

                free(arena->blocks);
                arena->blocks = next;
        }
        arena->used = 0;
}
