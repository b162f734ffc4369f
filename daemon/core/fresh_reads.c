#include "fresh_reads.h"

uint64_t fresh_reads_pass_begins(struct fresh_reads *f)
{
        /* A read already out was sent before this pass began: it cannot serve it. */
        uint64_t need = f->sent + 1;

        if (f->wanted < need)
                f->wanted = need;
        return need;
}

bool fresh_reads_ready(const struct fresh_reads *f, uint64_t need)
{
        return f->answered >= need;
}

bool fresh_reads_should_send(const struct fresh_reads *f)
{
        return f->answered == f->sent && f->wanted > f->sent;
}

uint64_t fresh_reads_sent(struct fresh_reads *f)
{
        return ++f->sent;
}

void fresh_reads_answered(struct fresh_reads *f)
{
        f->answered = f->sent;
}
