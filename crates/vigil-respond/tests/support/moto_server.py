"""A real AWS API for Vigil's AWS connector tests: moto's server (from PyPI) on loopback.

`serve` starts it, creates the world the tests act on with boto3 (an IAM user with an access
key and a console password, a role, two S3 buckets, a VPC's security groups and an instance
with its volume), prints one JSON line naming the port and what it created, then serves until
killed. `call ENDPOINT SERVICE OPERATION JSON KEY SECRET` reads the system back through boto3, a client
that is not Vigil's, and prints the answer as JSON."""

import json
import sys

import boto3

REGION = "us-east-1"


def client(endpoint, service, key="AKIAVIGILTESTSEEDER0", secret="seeder-secret"):
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )


def seed(endpoint):
    iam = client(endpoint, "iam")
    iam.create_user(UserName="mallory")
    key = iam.create_access_key(UserName="mallory")["AccessKey"]["AccessKeyId"]
    iam.create_login_profile(UserName="mallory", Password="Mallory-Console-1!")
    iam.create_user(UserName="bob")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="ci-deploy", AssumeRolePolicyDocument=json.dumps(trust))

    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket="case-exports")
    s3.put_public_access_block(
        Bucket="case-exports",
        PublicAccessBlockConfiguration={"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": False, "RestrictPublicBuckets": False},
    )
    s3.create_bucket(Bucket="open-data")

    ec2 = client(endpoint, "ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    web = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    ssh = ec2.create_security_group(GroupName="ssh", Description="ssh", VpcId=vpc)["GroupId"]
    quarantine = ec2.create_security_group(GroupName="quarantine", Description="no traffic", VpcId=vpc)["GroupId"]
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][0]["SubnetId"]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=[web, ssh])["Instances"][0]["InstanceId"]
    # Vigil's own principal: allowed everything, with a key whose secret the tests look for.
    iam.create_user(UserName="vigil-responder")
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName="vigil-responder", PolicyName="responder", PolicyDocument=json.dumps(allow))
    vigil = iam.create_access_key(UserName="vigil-responder")["AccessKey"]
    return {"vigil_key": vigil["AccessKeyId"], "vigil_secret": vigil["SecretAccessKey"],
            "access_key": key, "instance": instance, "groups": [web, ssh], "quarantine_group": quarantine, "vpc": vpc}


def serve():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    world = seed(f"http://{host}:{port}")
    # From here on every request is authenticated as AWS does it: the key must be one IAM
    # issued, the SigV4 signature must match, and the principal's policies must allow it.
    from moto import settings

    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    world["port"] = port
    print(json.dumps(world), flush=True)
    # Serve until the test kills the process.
    sys.stdin.read()


def call(endpoint, service, operation, arguments, key, secret):
    answer = getattr(client(endpoint, service, key, secret), operation)(**json.loads(arguments))
    answer.pop("ResponseMetadata", None)
    print(json.dumps(answer, default=str))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve()
    else:
        call(*sys.argv[2:8])
