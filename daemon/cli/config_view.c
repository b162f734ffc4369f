#include "config_view.h"

#include "duration.h"

void config_view_ha(const struct config *c, FILE *out)
{
        const struct config_ha *ha = &c->ha;
        char duration[32];

        if (!ha->enabled)
                return;
        fprintf(out, "high availability ([ha] on line %u):\n", ha->line);
        fprintf(out, "  table = %s\n", ha->table);
        fprintf(out, "  name = %s\n", ha->name);
        fprintf(out, "  holder = %s%s\n", ha->holder,
                ha->holder_is_host_name ? " (the host name)" : "");
        fprintf(out, "  lease_duration = %s\n",
                duration_format(ha->lease_duration, duration, sizeof(duration)));
        if (ha->region)
                fprintf(out, "  region = %s\n", ha->region);
        else if (c->region)
                fprintf(out, "  region = %s (the [aws] region)\n", c->region);
        else
                fprintf(out, "  region = (the [aws] identity's: AWS_REGION, AWS_DEFAULT_REGION "
                             "or the profile's)\n");
        if (ha->endpoint)
                fprintf(out, "  endpoint = %s\n", ha->endpoint);
        else
                fprintf(out, "  endpoint = (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, the "
                             "profile's, else the region's)\n");
}
