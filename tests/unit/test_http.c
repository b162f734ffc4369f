/* The HTTP client's own failures: a request libcurl refuses to set up is reported with the
 * option it refused, not as a bare "invalid argument". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "http.h"
#include "test.h"

static void never_called(const struct http_response *response, void *userdata)
{
        (void)response;
        *(int *)userdata = 1;
}

static void test_refused_option_is_named(void)
{
        /* libcurl refuses strings over CURL_MAX_INPUT_LENGTH (8,000,000 bytes). */
        size_t n = 8000100;
        char *url = malloc(n + 1);
        struct http_client *client = NULL;
        uv_loop_t loop;
        int called = 0;

        ASSERT_TRUE(url != NULL);
        memcpy(url, "https://127.0.0.1/", 18);
        memset(url + 18, 'a', n - 18);
        url[n] = '\0';
        ASSERT_EQ_INT(uv_loop_init(&loop), 0);
        ASSERT_EQ_INT(http_client_new(&loop, NULL, &client), 0);
        ASSERT_EQ_INT(http_send(client, &(struct http_request){.method = "GET", .url = url},
                                never_called, &called),
                      -EINVAL);
        ASSERT_TRUE(strstr(http_client_send_error(client), "setting CURLOPT_URL: ") != NULL);
        http_client_free(client);
        ASSERT_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
        ASSERT_EQ_INT(uv_loop_close(&loop), 0);
        ASSERT_EQ_INT(called, 0);
        free(url);
}

int main(void)
{
        test_refused_option_is_named();
        return test_summary("test_http");
}
