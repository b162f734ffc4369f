"""Images and AppStream fleets in the fake: DescribeImages and DescribeFleets as AppStream
answers them (fields, states, pagination, errors), and the control API that defines them.

Debian's AWS CLI (/usr/bin/aws, its own signing, pagination and error parsing) and botocore
make most of the calls, so shapes, tokens and errors are judged by real clients; the
reference model (tests/data/appstream) judges every member the fake sends.
"""

import json

import botocore.exceptions
import botocore.session
import pytest

from fake_appstream.control import FakeError
from fake_appstream.model import ApiModel

OLD = "06-19-2023"
PUBLIC = "AppStream-WinServer2019-06-12-2023"
IMAGE_STATES = ["PENDING", "AVAILABLE", "FAILED", "COPYING", "DELETING", "CREATING",
                "IMPORTING"]


def _cli_json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


def _rejected(result, code):
    assert result.returncode != 0
    assert f"({code})" in result.stderr, result.stderr


def _error(call):
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call()
    return info.value.response


def _image_arn(fake, name, account=None):
    return f"arn:aws:appstream:{fake.region}:{fake.account_id if account is None else account}" \
           f":image/{name}"


def _fleet_arn(fake, name):
    return f"arn:aws:appstream:{fake.region}:{fake.account_id}:fleet/{name}"


def _names(items):
    return [i["Name"] for i in items]


def _pages(fake, operation, params=None):
    """Every page of a listing, following NextToken by hand: the names on each."""
    key = {"DescribeImages": "Images", "DescribeFleets": "Fleets"}[operation]
    params = dict(params or {})
    pages = []
    while True:
        answer = fake.call(operation, params)
        assert answer.status == 200, answer.body
        body = answer.json()
        pages.append(_names(body[key]))
        if "NextToken" not in body:
            return pages
        assert len(pages) < 100, "the listing does not end"
        params["NextToken"] = body["NextToken"]


def _images(fake, **params):
    return {i["Name"]: i for i in fake.call("DescribeImages", params).json()["Images"]}


def _fleet(fake, name):
    return fake.call("DescribeFleets", {"Names": [name]}).json()["Fleets"][0]


# ---- the AWS CLI ------------------------------------------------------------------------


def test_cli_lists_300_private_images_over_twelve_pages(fake, aws_cli):
    names = fake.generate_images(300, prefix="img-", version=OLD)
    fake.add_images({"Name": "shared-1", "Visibility": "SHARED"})
    fake.generate(1)  # a builder made from AWS's public image, which it implies

    listed = _cli_json(aws_cli("appstream", "describe-images", "--type", "PRIVATE"))

    assert _names(listed["Images"]) == names
    assert "NextToken" not in listed
    calls = fake.calls("DescribeImages")
    assert len(calls) == 12  # 25 a page, AWS's most: the CLI followed the tokens
    assert [("NextToken" in c["params"]) for c in calls] == [False] + [True] * 11
    assert {c["params"]["Type"] for c in calls} == {"PRIVATE"}
    assert not any("MaxResults" in c["params"] for c in calls)
    assert {c["outcome"] for c in calls} == {"OK"}
    first = listed["Images"][0]
    assert first["Arn"] == _image_arn(fake, "img-001")
    assert (first["Visibility"], first["State"], first["AppstreamAgentVersion"]) == \
        ("PRIVATE", "AVAILABLE", OLD)
    assert first["ImageBuilderName"] == "img-001-builder"
    assert first["BaseImageArn"] == _image_arn(fake, PUBLIC, account="")

    everything = _cli_json(aws_cli("appstream", "describe-images"))["Images"]
    assert sorted(_names(everything)) == sorted(names + ["shared-1", PUBLIC])
    visibility = {i["Name"]: i["Visibility"] for i in everything}
    assert (visibility["shared-1"], visibility[PUBLIC]) == ("SHARED", "PUBLIC")
    assert len(fake.calls("DescribeImages")) == 12 + 13


@pytest.mark.time_limit(150)
def test_cli_max_items_walks_300_images_in_pieces(fake, aws_cli):
    names = fake.generate_images(300, prefix="img-")
    seen, sizes, token = [], [], None
    while True:
        args = ["appstream", "describe-images", "--max-items", "70", "--page-size", "20"]
        if token:
            args += ["--starting-token", token]
        out = _cli_json(aws_cli(*args))
        seen += _names(out["Images"])
        sizes.append(len(out["Images"]))
        token = out.get("NextToken")
        if not token:
            break
        assert len(sizes) < 10, "the CLI never reached the end"

    assert seen == names
    assert sizes == [70, 70, 70, 70, 20]
    assert {c["params"].get("MaxResults") for c in fake.calls("DescribeImages")} == {20}


def test_cli_meets_the_model_s_validation_at_the_service(fake, aws_cli):
    fake.generate_images(3)
    # Neither the maximum page size nor the enum is checked by the CLI: the service refuses.
    too_big = aws_cli("appstream", "describe-images", "--page-size", "26")
    _rejected(too_big, "ValidationException")
    assert "Value '26' at 'maxResults' failed to satisfy constraint: Member must have value " \
           "less than or equal to 25" in too_big.stderr
    bad_type = aws_cli("appstream", "describe-images", "--type", "ALL")
    _rejected(bad_type, "ValidationException")
    assert "Member must satisfy enum value set: [PUBLIC, PRIVATE, SHARED]" in bad_type.stderr


def test_cli_names_arns_and_their_errors(fake, aws_cli):
    fake.generate_images(5, prefix="img-")
    fake.add_images({"Name": "pub", "Visibility": "PUBLIC"})

    by_name = _cli_json(aws_cli("appstream", "describe-images", "--names", "img-04", "img-02"))
    assert _names(by_name["Images"]) == ["img-02", "img-04"]
    public_arn = _image_arn(fake, "pub", account="")
    by_arn = _cli_json(aws_cli("appstream", "describe-images", "--arns",
                               _image_arn(fake, "img-03"), public_arn))
    assert _names(by_arn["Images"]) == ["img-03", "pub"]
    assert by_arn["Images"][1]["Arn"] == public_arn

    _rejected(aws_cli("appstream", "describe-images", "--names", "img-01", "--arns",
                      _image_arn(fake, "img-01")), "InvalidParameterCombinationException")
    missing = aws_cli("appstream", "describe-images", "--names", "img-02", "nope")
    _rejected(missing, "ResourceNotFoundException")
    assert "nope" in missing.stderr
    _rejected(aws_cli("appstream", "describe-images", "--arns", _image_arn(fake, "img-09")),
              "ResourceNotFoundException")

    calls = fake.calls("DescribeImages")
    assert [(c["names"], c["outcome"]) for c in calls] == [
        (["img-04", "img-02"], "OK"), (["img-03", "pub"], "OK"),
        (["img-01", "img-01"], "InvalidParameterCombinationException"),
        (["img-02", "nope"], "ResourceNotFoundException"),
        (["img-09"], "ResourceNotFoundException")]
    assert calls[1]["params"] == {"Arns": [_image_arn(fake, "img-03"), public_arn]}


@pytest.mark.time_limit(90)
def test_cli_lists_fleets_over_several_pages_and_by_name(fake, aws_cli):
    fake.generate_images(1, prefix="golden-")
    names = fake.generate_fleets(60, prefix="fleet-", image="golden-01")

    listed = _cli_json(aws_cli("appstream", "describe-fleets"))

    assert _names(listed["Fleets"]) == names
    calls = fake.calls("DescribeFleets")
    assert [("NextToken" in c["params"]) for c in calls] == [False, True, True]
    fleet = listed["Fleets"][0]
    assert fleet["Arn"] == _fleet_arn(fake, "fleet-01")
    assert (fleet["ImageName"], fleet["ImageArn"]) == ("golden-01", _image_arn(fake, "golden-01"))
    assert fleet["State"] == "RUNNING"
    capacity = fleet["ComputeCapacityStatus"]
    assert set(capacity) == {"Desired", "Running", "InUse", "Available"}
    assert capacity["Running"] == capacity["InUse"] + capacity["Available"]

    by_name = _cli_json(aws_cli("appstream", "describe-fleets", "--names", "fleet-07",
                                "fleet-02"))
    assert _names(by_name["Fleets"]) == ["fleet-02", "fleet-07"]
    missing = aws_cli("appstream", "describe-fleets", "--names", "fleet-02", "ghost")
    _rejected(missing, "ResourceNotFoundException")
    assert "ghost" in missing.stderr

    first = _cli_json(aws_cli("appstream", "describe-fleets", "--max-items", "25"))
    assert _names(first["Fleets"]) == names[:25] and first["NextToken"]
    rest = _cli_json(aws_cli("appstream", "describe-fleets", "--max-items", "25",
                             "--starting-token", first["NextToken"]))
    assert _names(rest["Fleets"]) == names[25:50]


def test_cli_keeps_every_image_member_its_model_knows(fake, aws_cli):
    fake.add_images({"Name": "old", "AppstreamAgentVersion": OLD}, "new")
    raw = fake.call("DescribeImages", {"Names": ["new", "old"]}).json()["Images"]
    assert {i["Name"]: i["LatestAppstreamAgentVersion"] for i in raw} == {"new": "TRUE",
                                                                          "old": "FALSE"}

    cli = _cli_json(aws_cli("appstream", "describe-images", "--names", "new", "old"))["Images"]

    known = set(botocore.session.get_session().get_service_model("appstream")
                .shape_for("Image").members)
    assert _names(cli) == _names(raw)
    for parsed, sent in zip(cli, raw):
        assert set(parsed) == set(sent) & known
        assert parsed["Arn"] == sent["Arn"]


# ---- images through the API -------------------------------------------------------------


def test_image_defaults_by_visibility(fake):
    fake.add_images("priv", {"Name": "pub", "Visibility": "PUBLIC"},
                    {"Name": "shr", "Visibility": "SHARED"})
    images = _images(fake)
    latest = fake.config()["latest_version"]
    model = ApiModel()

    assert sorted(images) == ["priv", "pub", "shr"]
    assert images["priv"]["Arn"] == _image_arn(fake, "priv")
    assert images["pub"]["Arn"] == _image_arn(fake, "pub", account="")
    shared_account = images["shr"]["Arn"].split(":")[4]
    assert shared_account.isdigit() and shared_account != fake.account_id
    assert "ImageBuilderName" in images["priv"]
    assert "ImageBuilderName" not in images["shr"] and "ImageBuilderName" not in images["pub"]
    assert "BaseImageArn" in images["priv"] and "BaseImageArn" not in images["pub"]
    wall = fake.clock()["wall"]
    for image in images.values():
        assert model.conformance("Image", image) == []
        assert (image["State"], image["AppstreamAgentVersion"]) == ("AVAILABLE", latest)
        assert image["LatestAppstreamAgentVersion"] == "TRUE"
        assert image["PublicBaseImageReleasedDate"] < image["CreatedTime"] < wall
        assert image["ImageBuilderSupported"] is True


def test_every_image_state_and_unknown_ones_are_served(fake):
    states = IMAGE_STATES + ["SOMETHING_NEW"]
    fake.add_images(*({"Name": f"s-{s.lower()}", "State": s} for s in states))
    client = fake.botocore_client()

    listed = {i["Name"]: i for i in client.describe_images(MaxResults=25)["Images"]}

    assert {i["State"] for i in listed.values()} == set(states)
    failed = listed["s-failed"]
    assert failed["StateChangeReason"]["Code"] == "INTERNAL_ERROR"
    assert failed["ImageErrors"][0]["ErrorCode"] == "INTERNAL_SERVICE_ERROR"
    assert not any("ImageErrors" in i for n, i in listed.items() if n != "s-failed")

    changed = fake.update_image("s-pending", State="AVAILABLE", Description=None)
    assert changed["State"] == "AVAILABLE" and "Description" not in changed
    shown = client.describe_images(Names=["s-pending"])["Images"][0]
    assert shown["State"] == "AVAILABLE" and "Description" not in shown


def test_latest_flag_follows_the_version_the_setting_and_the_knobs(fake):
    fake.add_images({"Name": "old", "AppstreamAgentVersion": OLD},
                    {"Name": "forced", "AppstreamAgentVersion": OLD, "latest_flag": "TRUE"},
                    {"Name": "quiet", "omit_latest_flag": True}, "new")

    def flags():
        return {n: i.get("LatestAppstreamAgentVersion") for n, i in _images(fake).items()}

    assert flags() == {"old": "FALSE", "forced": "TRUE", "quiet": None, "new": "TRUE"}
    fake.config(latest_version="12-31-2030")
    assert flags() == {"old": "FALSE", "forced": "TRUE", "quiet": None, "new": "FALSE"}
    fake.config(omit_latest_flag=True)
    fake.update_image("quiet", omit_latest_flag=False)
    assert flags() == {"old": None, "forced": None, "quiet": "FALSE", "new": None}


@pytest.mark.parametrize("operation, params, code, fragment", [
    ("DescribeImages", {"MaxResults": 26}, "ValidationException",
     "Value '26' at 'maxResults' failed to satisfy constraint: Member must have value less "
     "than or equal to 25"),
    ("DescribeImages", {"MaxResults": -1}, "ValidationException",
     "Member must have value greater than or equal to 0"),
    ("DescribeImages", {"Type": "ALL"}, "ValidationException",
     "Value 'ALL' at 'type' failed to satisfy constraint: Member must satisfy enum value set: "
     "[PUBLIC, PRIVATE, SHARED]"),
    ("DescribeImages", {"Arns": ["not-an-arn"]}, "ValidationException",
     "Value 'not-an-arn' at 'arns.1.member' failed to satisfy constraint: Member must satisfy "
     "regular expression pattern"),
    ("DescribeImages", {"Names": ["ok", ""]}, "ValidationException", "at 'names.2.member'"),
    ("DescribeImages", {"Names": "img"}, "SerializationException", "'names'"),
    ("DescribeImages", {"MaxResults": "5"}, "SerializationException", "'maxResults'"),
    ("DescribeFleets", {"Names": [""]}, "ValidationException",
     "Value '' at 'names.1.member' failed to satisfy constraint: Member must have length "
     "greater than or equal to 1"),
    ("DescribeFleets", {"Names": [7]}, "SerializationException", "'names.1.member'"),
    ("DescribeFleets", {"NextToken": ""}, "ValidationException", "at 'nextToken'"),
    ("DescribeFleets", [], "SerializationException", "structure"),
])
def test_requests_are_validated_against_the_model(fake, operation, params, code, fragment):
    answer = fake.call(operation, params)
    assert (answer.status, answer.error_code) == (400, code)
    assert fragment in answer.json()["message"]


def test_image_errors_the_model_lists(fake):
    fake.generate_images(3, prefix="img-")
    client = fake.botocore_client()
    assert set(s.name for s in client.meta.service_model.operation_model(
        "DescribeImages").error_shapes) == {"InvalidParameterCombinationException",
                                            "ResourceNotFoundException"}

    # Names and Arns together are refused before either is looked up.
    both = _error(lambda: client.describe_images(Names=["nope"], Arns=[_image_arn(fake, "x")]))
    assert both["Error"]["Code"] == "InvalidParameterCombinationException"
    for params in ({"Names": ["img-01", "img-99"]},
                   {"Arns": [_image_arn(fake, "img-01").replace(fake.region, "eu-west-1")]},
                   {"Arns": [_image_arn(fake, "img-01", account="210987654321")]},
                   {"Arns": [_image_arn(fake, "img-01", account="")]}):
        assert _error(lambda: client.describe_images(**params))["Error"]["Code"] == \
            "ResourceNotFoundException", params

    # Type keeps what the other filters select; an empty Names list is no filter.
    assert client.describe_images(Names=["img-01"], Type="PUBLIC")["Images"] == []
    assert _names(client.describe_images(Names=[], Type="PRIVATE")["Images"]) == \
        ["img-01", "img-02", "img-03"]


def test_image_pages(fake):
    fake.config(manual_clock=True)
    names = fake.generate_images(60, prefix="img-")

    assert [len(p) for p in _pages(fake, "DescribeImages")] == [25, 25, 10]
    assert [len(p) for p in _pages(fake, "DescribeImages", {"MaxResults": 0})] == [25, 25, 10]
    pages = _pages(fake, "DescribeImages", {"MaxResults": 7})
    assert [len(p) for p in pages] == [7] * 8 + [4]
    assert sum(pages, []) == names
    fake.config(page_size=10)
    assert [len(p) for p in _pages(fake, "DescribeImages")] == [10] * 6
    fake.config(page_size=100)  # DescribeImages never answers more than 25
    assert [len(p) for p in _pages(fake, "DescribeImages")] == [25, 25, 10]

    paginator = fake.botocore_client().get_paginator("describe_images")
    walked = [_names(p["Images"]) for p in paginator.paginate(PaginationConfig={"PageSize": 25})]
    assert sum(walked, []) == names


def test_image_tokens_belong_to_their_request(fake):
    fake.config(manual_clock=True)
    fake.generate_images(6, prefix="img-")
    fake.generate(6)
    token = fake.call("DescribeImages", {"Type": "PRIVATE", "MaxResults": 2}).json()["NextToken"]
    builders_token = fake.call("DescribeImageBuilders", {"MaxResults": 2}).json()["NextToken"]

    for params in ({"Type": "PUBLIC", "NextToken": token}, {"NextToken": token},
                   {"Type": "PRIVATE", "NextToken": builders_token},
                   {"Type": "PRIVATE", "NextToken": "garbage"}):
        answer = fake.call("DescribeImages", {"MaxResults": 2, **params})
        assert (answer.status, answer.error_code) == (400, "ValidationException"), params
    good = fake.call("DescribeImages", {"Type": "PRIVATE", "MaxResults": 2, "NextToken": token})
    assert _names(good.json()["Images"]) == ["img-03", "img-04"]

    fake.advance(fake.config()["token_ttl"] + 1)
    expired = fake.call("DescribeImages", {"Type": "PRIVATE", "MaxResults": 2, "NextToken": token})
    assert "expired" in expired.json()["message"]


# ---- fleets through the API ---------------------------------------------------------------


def test_fleet_pages_follow_the_page_size_setting(fake):
    names = fake.generate_fleets(12)
    assert _pages(fake, "DescribeFleets") == [names]
    fake.config(page_size=5)
    assert _pages(fake, "DescribeFleets") == [names[:5], names[5:10], names[10:]]
    # The model gives DescribeFleets no MaxResults: one in a request is ignored.
    assert [len(p) for p in _pages(fake, "DescribeFleets", {"MaxResults": 2})] == [5, 5, 2]
    assert _pages(fake, "DescribeFleets", {"Names": ["fleet-09", "fleet-03", "fleet-03"]}) == \
        [["fleet-03", "fleet-09"]]
    fleets = fake.botocore_client().get_paginator("describe_fleets").paginate()
    assert [_names(p["Fleets"]) for p in fleets] == [names[:5], names[5:10], names[10:]]


@pytest.mark.parametrize("state, expected", [
    ("RUNNING", {"Desired": 4, "Running": 4, "InUse": 3, "Available": 1}),
    ("STOPPING", {"Desired": 4, "Running": 4, "InUse": 0, "Available": 0}),
    ("STOPPED", {"Desired": 4, "Running": 0, "InUse": 0, "Available": 0}),
    ("STARTING", {"Desired": 4, "Running": 0, "InUse": 0, "Available": 0}),
])
def test_fleet_capacity_follows_its_state(fake, state, expected):
    fake.add_fleets({"Name": "f", "FleetType": "ALWAYS_ON", "capacity": 4, "in_use": 3})
    fake.update_fleet("f", State=state)
    fleet = _fleet(fake, "f")
    assert fleet["State"] == state
    assert fleet["ComputeCapacityStatus"] == expected
    assert "MaxConcurrentSessions" not in fleet
    assert ApiModel().conformance("Fleet", fleet) == []


def test_fleet_capacity_of_elastic_given_and_unknown_states(fake):
    fake.add_fleets({"Name": "elastic", "FleetType": "ELASTIC", "capacity": 50, "in_use": 7},
                    {"Name": "busy", "capacity": 2, "in_use": 9},
                    {"Name": "given", "ComputeCapacityStatus": {"Desired": 9}},
                    {"Name": "bare", "ComputeCapacityStatus": None, "Arn": None},
                    {"Name": "future", "State": "HIBERNATING", "NewMember": {"x": 1}})
    elastic = _fleet(fake, "elastic")
    assert elastic["MaxConcurrentSessions"] == 50
    assert elastic["ComputeCapacityStatus"] == {"Desired": 7, "Running": 7, "InUse": 7,
                                                "Available": 0}
    assert _fleet(fake, "busy")["ComputeCapacityStatus"]["InUse"] == 2
    assert _fleet(fake, "given")["ComputeCapacityStatus"] == {"Desired": 9}
    bare = _fleet(fake, "bare")
    assert "ComputeCapacityStatus" not in bare and "Arn" not in bare
    future = _fleet(fake, "future")
    assert (future["State"], future["NewMember"]) == ("HIBERNATING", {"x": 1})
    assert future["ComputeCapacityStatus"]["Running"] == 0
    fake.update_fleet("bare", ComputeCapacityStatus={"Desired": 1})
    assert _fleet(fake, "bare")["ComputeCapacityStatus"] == {"Desired": 1}


def test_fleet_images_by_name_arn_or_public(fake):
    fake.add_images({"Name": "golden", "Platform": "WINDOWS_SERVER_2016"})
    golden_arn = _image_arn(fake, "golden")
    linux = "AppStream-AmazonLinux2-03-15-2024"
    graphics_arn = _image_arn(fake, "AppStream-Graphics-G4dn-WinServer2019-06-12-2023", "")
    fake.add_fleets({"Name": "by-name", "ImageName": "golden"},
                    {"Name": "by-arn", "ImageArn": golden_arn},
                    {"Name": "default"},
                    {"Name": "linux", "ImageName": linux, "Platform": "AMAZON_LINUX2"},
                    {"Name": "graphics", "ImageArn": graphics_arn})
    fleets = {f["Name"]: f for f in fake.call("DescribeFleets").json()["Fleets"]}

    assert {n: (f["ImageName"], f["ImageArn"]) for n, f in fleets.items()} == {
        "by-name": ("golden", golden_arn), "by-arn": ("golden", golden_arn),
        "default": (PUBLIC, _image_arn(fake, PUBLIC, "")),
        "linux": (linux, _image_arn(fake, linux, "")),
        "graphics": (graphics_arn.rsplit("/", 1)[1], graphics_arn)}
    assert fleets["by-name"]["Platform"] == "WINDOWS_SERVER_2016"

    public = _images(fake, Type="PUBLIC")
    assert sorted(public) == sorted([PUBLIC, linux, graphics_arn.rsplit("/", 1)[1]])
    assert public[linux]["Platform"] == "AMAZON_LINUX2"
    implied = {i["Name"]: i["_fake"]["implied"] for i in fake.images()}
    assert implied == {"golden": False, PUBLIC: True, linux: True,
                       graphics_arn.rsplit("/", 1)[1]: True}
    assert fake.image(linux)["Arn"] == _image_arn(fake, linux, "")

    # An image that is deleted stays the image of the fleets made from it.
    fake.delete_image("golden")
    assert _fleet(fake, "by-name")["ImageArn"] == golden_arn
    assert fake.call("DescribeImages", {"Names": ["golden"]}).error_code == \
        "ResourceNotFoundException"
    # An implied image is changed by defining it.
    for call in (lambda: fake.delete_image(linux),
                 lambda: fake.update_image(linux, State="FAILED")):
        with pytest.raises(FakeError) as info:
            call()
        assert info.value.status == 400
    fake.add_images({"Name": linux, "Visibility": "PUBLIC", "AppstreamAgentVersion": OLD})
    assert fake.image(linux)["_fake"]["implied"] is False
    assert _images(fake, Names=[linux])[linux]["LatestAppstreamAgentVersion"] == "FALSE"


def test_generated_series(fake):
    images = fake.generate_images(3, prefix="img-", version=OLD, state="PENDING",
                                  visibility="SHARED", first=9)
    assert images == ["img-09", "img-10", "img-11"]
    shown = _images(fake)
    assert {(i["State"], i["Visibility"], i["AppstreamAgentVersion"]) for i in shown.values()} \
        == {("PENDING", "SHARED", OLD)}
    shared_arn = fake.image("img-10")["Arn"]
    fleets = fake.generate_fleets(2, prefix="e-", image=shared_arn, state="STOPPED",
                                  fleet_type="ELASTIC")
    assert fleets == ["e-01", "e-02"]
    for fleet in fake.fleets():
        assert (fleet["ImageName"], fleet["ImageArn"], fleet["State"], fleet["FleetType"]) == \
            ("img-10", shared_arn, "STOPPED", "ELASTIC")
        assert fleet["_fake"]["knobs"]["capacity"] is None
    assert fake.generate_fleets(0) == []


def test_control_api_refuses_bad_definitions(fake):
    fake.add_fleets("kept")
    bad = [
        lambda: fake.add_images({"Name": 5}),
        lambda: fake.add_images({"Name": "x", "bogus": 1}),
        lambda: fake.add_images({"Name": "x", "latest_flag": "yes"}),
        lambda: fake.add_images("a", {"Name": "b", "omit_latest_flag": "no"}),
        lambda: fake.add_fleets({"Name": "f", "capacity": -1}),
        lambda: fake.add_fleets({"Name": "f", "in_use": True}),
        lambda: fake.add_fleets({"ImageName": "nameless"}),
        lambda: fake.generate_images(-1),
        lambda: fake.request("POST", "/_fake/images", {"generate": {"count": 1, "colour": 1}}),
        lambda: fake.request("POST", "/_fake/fleets", {"fleets": {}}),
        lambda: fake.request("POST", "/_fake/fleets", {"fleets": [], "replace": "yes"}),
        lambda: fake.add_fleets("new", {"Name": "worse", "capacity": "x"}, replace=True),
        lambda: fake.update_fleet("kept", Name="renamed"),
    ]
    for call in bad:
        with pytest.raises(FakeError) as info:
            call()
        assert info.value.status == 400
    # A refused request changes nothing, not even its good specs or `replace` (the public
    # image is the one the fleet runs).
    assert _names(fake.images()) == [PUBLIC]
    assert _names(fake.fleets()) == ["kept"]

    for call in (lambda: fake.image("nope"), lambda: fake.fleet("nope"),
                 lambda: fake.update_fleet("nope", State="STOPPED"),
                 lambda: fake.update_image("nope", State="FAILED"),
                 lambda: fake.delete_fleet("nope"), lambda: fake.delete_image("nope")):
        with pytest.raises(FakeError) as info:
            call()
        assert info.value.status == 404
    with pytest.raises(FakeError) as info:
        fake.request("PUT", "/_fake/images")
    assert info.value.status == 405


def test_replace_delete_and_reset(fake):
    fake.generate_images(3)
    fake.generate_fleets(3)
    assert fake.add_images("only", replace=True) == ["only"]
    assert _names(fake.images()) == [PUBLIC, "only"]  # the fleets' image is implied
    fake.request("POST", "/_fake/fleets/fleet-02", {"delete": True})
    fake.delete_fleet("fleet-03")
    assert _names(fake.fleets()) == ["fleet-01"]
    fake.reset()
    assert fake.images() == [] and fake.fleets() == []
    assert fake.call("DescribeFleets").json() == {"Fleets": []}
    assert fake.call("DescribeImages").json() == {"Images": []}


# ---- faults, denies and the call log --------------------------------------------------------


def test_error_faults_and_denies_apply_to_both_calls(fake):
    fake.generate_images(3, prefix="img-")
    fake.generate_fleets(3, image="img-01")
    client = fake.botocore_client()

    fake.add_fault("throttle", operations=["DescribeFleets"])
    assert len(client.describe_images()["Images"]) == 3
    assert _error(client.describe_fleets)["Error"]["Code"] == "ThrottlingException"
    assert len(client.describe_fleets()["Fleets"]) == 3

    fake.add_fault("server_error", operations=["DescribeImages"], names=["img-02"])
    assert _names(client.describe_images(Names=["img-01"])["Images"]) == ["img-01"]
    failed = _error(lambda: client.describe_images(Arns=[_image_arn(fake, "img-02")]))
    assert (failed["Error"]["Code"], failed["ResponseMetadata"]["HTTPStatusCode"]) == \
        ("InternalServerError", 500)

    fake.deny("DescribeFleets")
    denied = _error(client.describe_fleets)
    assert denied["Error"] == {
        "Code": "AccessDeniedException",
        "Message": f"User: arn:aws:iam::{fake.account_id}:user/appstream-agent-reconciler is "
                   "not authorized to perform: appstream:DescribeFleets with an explicit deny "
                   "in an identity-based policy"}
    assert len(client.describe_images()["Images"]) == 3
    assert [c["outcome"] for c in fake.calls()] == [
        "OK", "ThrottlingException", "OK", "OK", "InternalServerError",
        "AccessDeniedException", "OK"]
    assert fake.denies()[0]["fired"] == 1


def test_connection_faults_apply_too(fake):
    fake.generate_fleets(2)
    fake.add_fault("truncated", operations=["DescribeFleets"])
    answer = fake.call("DescribeFleets")
    assert answer.status == 200
    with pytest.raises(ValueError):
        answer.json()
    fake.add_fault("html", operations=["DescribeImages"], status=503)
    page = fake.call("DescribeImages")
    assert (page.status, page.headers["Content-Type"]) == (503, "text/html")
    assert [c["outcome"] for c in fake.calls()] == ["truncated", "html"]


def test_listing_faults_reach_images_and_fleets_only_when_named(fake):
    images = fake.generate_images(5, prefix="img-")
    fleets = fake.generate_fleets(5, image="img-01")
    client = fake.botocore_client()

    # Without operations, a listing fault is DescribeImageBuilders' alone.
    fake.add_fault("repeat_token", probability=1)
    walked = client.get_paginator("describe_images").paginate(PaginationConfig={"PageSize": 2})
    assert sum((_names(p["Images"]) for p in walked), []) == images
    assert fake.faults()[0]["fired"] == 0
    fake.clear_faults()

    fake.add_fault("repeat_token", probability=1, operations=["DescribeImages"])
    with pytest.raises(botocore.exceptions.PaginationError, match="same next token"):
        list(client.get_paginator("describe_images").paginate(PaginationConfig={"PageSize": 2}))
    fake.clear_faults()

    fake.config(page_size=2)
    fake.add_fault("empty_pages", count=2, operations=["DescribeFleets"])
    pages = list(client.get_paginator("describe_fleets").paginate())
    assert [len(p["Fleets"]) for p in pages] == [0, 0, 2, 2, 1]
    assert sum((_names(p["Fleets"]) for p in pages), []) == fleets

    fake.add_fault("drop", operations=["DescribeFleets"], builder="fleet-02")
    assert _names(client.describe_fleets()["Fleets"]) == ["fleet-01"]
    assert fake.calls()[-1]["outcome"] == "drop"

    fake.add_fault("duplicate", probability=1, operations=["DescribeImages"],
                   members={"State": "FAILED"})
    pages = list(client.get_paginator("describe_images").paginate(PaginationConfig={"PageSize": 2}))
    listed = sum((p["Images"] for p in pages), [])
    assert sorted(set(_names(listed))) == images
    copies = [i for i in listed if i["Name"] == "img-01"]
    assert [i["State"] for i in copies] == ["AVAILABLE", "FAILED", "FAILED"]

    for operations in (["StopImageBuilder"], [], ["DescribeImages", "TagResource"]):
        with pytest.raises(FakeError) as info:
            fake.add_fault("drop", operations=operations)
        assert info.value.status == 400


def test_call_log_records_images_and_fleets_calls(fake):
    fake.add_images("img")
    fake.add_fleets("fl")
    arn = _image_arn(fake, "img")
    fake.call("DescribeImages", {"Arns": [arn], "Type": "PRIVATE", "MaxResults": 5})
    fake.call("DescribeFleets", {"Names": ["fl"]})
    fake.call("DescribeFleets", {"Names": ["fl", "gone"]})

    calls = fake.calls()
    assert [(c["operation"], c["names"], c["status"], c["outcome"]) for c in calls] == [
        ("DescribeImages", ["img"], 200, "OK"),
        ("DescribeFleets", ["fl"], 200, "OK"),
        ("DescribeFleets", ["fl", "gone"], 400, "ResourceNotFoundException")]
    assert calls[0]["params"] == {"Arns": [arn], "Type": "PRIVATE", "MaxResults": 5}
    assert fake.calls("DescribeFleets") == calls[1:]
