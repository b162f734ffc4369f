/* fresh_reads: a pass decides only by a read sent after it began; passes that begin while a
 * read is out share the next one; one read at a time. */
#include <stdbool.h>
#include <stdint.h>

#include "fresh_reads.h"
#include "test.h"

/* The first pass: nothing read yet, a read is to be sent now and serves it once answered. */
static void test_first_pass_sends_and_waits(void)
{
        struct fresh_reads f = {0};
        uint64_t need;

        ASSERT_TRUE(!fresh_reads_should_send(&f));
        need = fresh_reads_pass_begins(&f);
        ASSERT_EQ_INT(need, 1);
        ASSERT_TRUE(!fresh_reads_ready(&f, need));
        ASSERT_TRUE(fresh_reads_should_send(&f));
        ASSERT_EQ_INT(fresh_reads_sent(&f), 1);
        ASSERT_TRUE(!fresh_reads_should_send(&f));
        ASSERT_TRUE(!fresh_reads_ready(&f, need));
        fresh_reads_answered(&f);
        ASSERT_TRUE(fresh_reads_ready(&f, need));
        ASSERT_TRUE(!fresh_reads_should_send(&f));
}

/* A read answered before a pass began is too old for it: the pass wants a new one. */
static void test_an_older_read_never_serves_a_later_pass(void)
{
        struct fresh_reads f = {0};
        uint64_t first = fresh_reads_pass_begins(&f), second;

        (void)fresh_reads_sent(&f);
        fresh_reads_answered(&f);
        ASSERT_TRUE(fresh_reads_ready(&f, first));
        second = fresh_reads_pass_begins(&f);
        ASSERT_EQ_INT(second, 2);
        ASSERT_TRUE(!fresh_reads_ready(&f, second));
        ASSERT_TRUE(fresh_reads_should_send(&f));
}

/* A pass that begins while a read is out cannot use it (sent before it began): it waits for
 * the next, which goes out only once the first has answered. */
static void test_a_read_in_flight_serves_only_earlier_passes(void)
{
        struct fresh_reads f = {0};
        uint64_t a = fresh_reads_pass_begins(&f), b;

        (void)fresh_reads_sent(&f);
        b = fresh_reads_pass_begins(&f);
        ASSERT_EQ_INT(a, 1);
        ASSERT_EQ_INT(b, 2);
        ASSERT_TRUE(!fresh_reads_should_send(&f)); /* one at a time */
        fresh_reads_answered(&f);
        ASSERT_TRUE(fresh_reads_ready(&f, a));
        ASSERT_TRUE(!fresh_reads_ready(&f, b));
        ASSERT_TRUE(fresh_reads_should_send(&f));
        ASSERT_EQ_INT(fresh_reads_sent(&f), 2);
        fresh_reads_answered(&f);
        ASSERT_TRUE(fresh_reads_ready(&f, b));
        ASSERT_TRUE(!fresh_reads_should_send(&f));
}

/* Many passes that begin while one read is out share the next read: one, not one each. */
static void test_passes_waiting_together_share_one_read(void)
{
        struct fresh_reads f = {0};
        uint64_t needs[5];
        unsigned reads = 0;

        (void)fresh_reads_pass_begins(&f);
        (void)fresh_reads_sent(&f);
        reads++;
        for (int i = 0; i < 5; i++)
                needs[i] = fresh_reads_pass_begins(&f);
        fresh_reads_answered(&f);
        while (fresh_reads_should_send(&f)) {
                (void)fresh_reads_sent(&f);
                reads++;
                fresh_reads_answered(&f);
        }
        ASSERT_EQ_INT(reads, 2);
        for (int i = 0; i < 5; i++) {
                ASSERT_EQ_INT(needs[i], 2);
                ASSERT_TRUE(fresh_reads_ready(&f, needs[i]));
        }
}

/* Passes that begin when no read is out, one after another, share the read sent for the
 * first of them as long as it has not been sent yet: the reader sends once, at the next
 * chance. */
static void test_passes_before_the_send_share_it(void)
{
        struct fresh_reads f = {0};
        uint64_t a = fresh_reads_pass_begins(&f), b = fresh_reads_pass_begins(&f);

        ASSERT_EQ_INT(a, b);
        ASSERT_EQ_INT(fresh_reads_sent(&f), a);
        fresh_reads_answered(&f);
        ASSERT_TRUE(fresh_reads_ready(&f, b));
        ASSERT_TRUE(!fresh_reads_should_send(&f));
}

/* Without passes, no read: the reader asks only for a pass (only the holder runs them). */
static void test_no_pass_no_read(void)
{
        struct fresh_reads f = {0};

        ASSERT_TRUE(!fresh_reads_should_send(&f));
        (void)fresh_reads_pass_begins(&f);
        (void)fresh_reads_sent(&f);
        fresh_reads_answered(&f);
        ASSERT_TRUE(!fresh_reads_should_send(&f));
}

int main(void)
{
        test_first_pass_sends_and_waits();
        test_an_older_read_never_serves_a_later_pass();
        test_a_read_in_flight_serves_only_earlier_passes();
        test_passes_waiting_together_share_one_read();
        test_passes_before_the_send_share_it();
        test_no_pass_no_read();
        return test_summary("test_fresh_reads");
}
