#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "log.h"
#include "state.h"

void cmd_observe_versions(struct state *st, const struct builder_list *list, int64_t now)
{
        char note[192];

        (void)state_observe_versions(st, list, now, note, sizeof(note));
        if (note[0])
                log_event(EV_API_INVALID_DATA, NULL, "%s", note);
}

int cmd_print_json(cJSON *root)
{
        char *text = root ? cJSON_Print(root) : NULL;

        cJSON_Delete(root);
        if (!text)
                return -ENOMEM;
        printf("%s\n", text);
        free(text);
        return 0;
}
