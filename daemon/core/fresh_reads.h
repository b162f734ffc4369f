/* Which read of a shared document a decision may rest on: the operators' pauses in the [ha]
 * table (ha_pauses.h), read by one reader for every target of the host. A pause written before
 * a pass began must be honoured by that pass (SPEC "Holds, notices and pacing", I10), so a pass
 * decides only by a read sent after it began: a consistent read sees every write acknowledged
 * before it arrived. Reads are numbered in the order they are sent and go one at a time, so
 * their answers come in that order too; passes that begin while one is out share the next.
 * Pure: the reader sends and counts, this only decides. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct fresh_reads {
        uint64_t sent;     /* the number of the last read sent; 0: none yet */
        uint64_t answered; /* the number of the last read answered, well or not */
        uint64_t wanted;   /* the highest number a pass waits for */
};

/* A pass begins: returns the number of the read it must decide by (the first one sent from
 * now on), now wanted. */
uint64_t fresh_reads_pass_begins(struct fresh_reads *f);

/* Whether a pass that needs read number need may decide now: that read has answered. */
bool fresh_reads_ready(const struct fresh_reads *f, uint64_t need);

/* Whether the reader should send a read now: one is wanted and none is out. */
bool fresh_reads_should_send(const struct fresh_reads *f);

/* A read was sent (or failed to be, which the reader answers at once): returns its number. */
uint64_t fresh_reads_sent(struct fresh_reads *f);

/* The read out has answered, well or not. */
void fresh_reads_answered(struct fresh_reads *f);
