"""A small, realistic estate of private images and AppStream fleets for the simulator
(``--image-estate``, used by scripts/demo), so that the ``images`` command has something to
show: images on the latest agent, on old ones and on none it reports, a FAILED image, images no
fleet runs, running and stopped fleets, an ELASTIC fleet on AWS's public image, and builders
made from private images.

Every image and fleet is defined through the same ImageSet/FleetSet calls the control API
uses; nothing here is a special case of the API.
"""

OLDER_VERSION = "01-26-2023"

# (name, agent: "latest" | "old" | "older" | None, state)
IMAGES = (
    ("finance-v12", "latest", "AVAILABLE"),
    ("golden-base", "latest", "AVAILABLE"),
    ("engineering-v7", "old", "AVAILABLE"),
    ("call-centre-v3", "older", "AVAILABLE"),
    ("lab-nightly", "old", "FAILED"),
    ("legacy-import", None, "AVAILABLE"),
)

# (name, image name or None for AWS's public image, state, type, capacity, in use)
FLEETS = (
    ("finance", "finance-v12", "RUNNING", "ALWAYS_ON", 40, 31),
    ("engineering", "engineering-v7", "RUNNING", "ON_DEMAND", 12, 5),
    ("engineering-training", "engineering-v7", "STOPPED", "ON_DEMAND", 10, 0),
    ("call-centre", "call-centre-v3", "RUNNING", "ALWAYS_ON", 25, 18),
    ("archive", "legacy-import", "RUNNING", "ON_DEMAND", 2, 0),
    ("kiosk", None, "RUNNING", "ELASTIC", 50, 9),
)

# Which seeded builders (by position) were made from which private image.
BUILDER_IMAGES = (("golden-base", 3), ("engineering-v7", 1))


def _version(kind, config, old_version):
    return {"latest": config.latest_version, "old": old_version, "older": OLDER_VERSION,
            None: None}[kind]


def seed(images, fleets, builders, config, old_version):
    """Define the estate in `images` (ImageSet), `fleets` (FleetSet), and point the first
    seeded `builders` (Fleet) at the images they were made from."""
    for name, agent, state in IMAGES:
        spec = {"Name": name, "AppstreamAgentVersion": _version(agent, config, old_version),
                "State": state}
        if agent is None:  # no agent, so AWS says nothing of it being the latest either
            spec["omit_latest_flag"] = True
        images.put(spec)
    for name, image, state, fleet_type, capacity, in_use in FLEETS:
        spec = {"Name": name, "State": state, "FleetType": fleet_type, "capacity": capacity,
                "in_use": in_use}
        if image is not None:
            spec["ImageName"] = image
        fleets.put(spec)
    names = sorted(builders.builders)
    for image, count in BUILDER_IMAGES:
        arn = f"arn:aws:appstream:{config.region}:{config.account_id}:image/{image}"
        for name in names[:count]:
            builders.update(name, {"ImageArn": arn})
        names = names[count:]
