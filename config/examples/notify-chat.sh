#!/bin/sh
# notify_command example: posts the event as JSON to a chat webhook with curl. Slack,
# Mattermost, Rocket.Chat and Google Chat show the "text" member; the others are there for
# whatever reads the JSON.
#
#   notify_command = /usr/local/bin/notify-chat.sh /etc/appstream-agent-reconciler/chat-url
#
# A webhook URL carries its token, so it is read from the file named by the first argument
# (mode 0600, readable by the daemon's user), handed to curl on its standard input rather
# than its command line, and never printed.
set -eu

url=$(head -n 1 "${1:?usage: notify-chat.sh URL_FILE}")

# A JSON string's contents: tabs and CRs become blanks, other control characters go,
# backslashes and quotes are escaped, newlines become \n.
json() {
        printf '%s' "$1" | tr '\t\r' '  ' | tr -d '\000-\010\013-\037' |
                sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' |
                awk 'NR > 1 { printf "%s", "\\n" } { printf "%s", $0 }'
}

body=$(printf '{"text": "%s"' "$(json "${EVENT:-event}: ${MESSAGE:-}")"
        for key in EVENT BUILDER_NAME AGENT_VERSION FROM_VERSION TARGET_VERSION AT REASON \
                REGION TARGET ACCOUNT_ID FLEET_NAME IMAGE_NAME MESSAGE_ID; do
                eval "value=\${$key:-}"
                [ -z "$value" ] || printf ', "%s": "%s"' "$key" "$(json "$value")"
        done
        printf '}')

printf 'url = "%s"\n' "$url" |
        curl --config - --fail --silent --show-error --max-time 20 --output /dev/null \
                --header 'Content-Type: application/json' --data-binary "$body"
echo "posted to the chat webhook"
