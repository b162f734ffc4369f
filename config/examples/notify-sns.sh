#!/bin/sh
# notify_command example: publishes the event to an Amazon SNS topic with the AWS CLI.
#
#   notify_command = /usr/local/bin/notify-sns.sh arn:aws:sns:eu-central-1:123456789012:appstream
#
# The topic ARN is the first argument, else SNS_TOPIC_ARN. The daemon gives the hook no
# credentials: the AWS CLI finds its own (on EC2 the instance role, or files named with
# "/usr/bin/env AWS_CONFIG_FILE=... notify-sns.sh ..." in notify_command). The caller needs
# sns:Publish on the topic. SNS_ENDPOINT_URL, when set, replaces the SNS endpoint.
set -eu

topic=${1:-${SNS_TOPIC_ARN:-}}
if [ -z "$topic" ]; then
        echo "notify-sns.sh: no topic ARN (first argument or SNS_TOPIC_ARN)" >&2
        exit 2
fi
region=$(printf '%s\n' "$topic" | cut -d: -f4) # arn:PARTITION:sns:REGION:ACCOUNT:NAME

# SNS wants a subject of at most 100 printable ASCII characters.
subject=$(printf 'AppStream agent: %s %s' "${EVENT:-event}" "${BUILDER_NAME:-}" |
        tr -c '[:print:]' ' ' | cut -c 1-100)
message=$(printf '%s\n\n' "${MESSAGE:-}"
        for key in EVENT BUILDER_NAME AGENT_VERSION FROM_VERSION TARGET_VERSION AT REASON \
                REGION TARGET ACCOUNT_ID FLEET_NAME IMAGE_NAME MESSAGE_ID; do
                eval "value=\${$key:-}"
                [ -z "$value" ] || printf '%s=%s\n' "$key" "$value"
        done)

set -- sns publish --region "$region" --topic-arn "$topic" --subject "$subject" \
        --message "$message" --output text --query MessageId
if [ -n "${SNS_ENDPOINT_URL:-}" ]; then
        set -- "$@" --endpoint-url "$SNS_ENDPOINT_URL"
fi
printf 'published to SNS as message %s\n' "$(/usr/bin/aws "$@")"
