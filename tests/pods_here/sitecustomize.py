"""A stand-in for a Kubernetes cluster, for ``airflow dags test`` of the kubernetes target.

No cluster or container runtime runs here. When ``ISOCELL_TEST_PODS`` is set (JSON, below),
Python imports this module at start-up (its folder on ``PYTHONPATH``) and it replaces the one
step of the cncf-kubernetes provider's ``KubernetesPodOperator`` that talks to a cluster,
``execute_sync``. Everything up to the pod is the provider's own code: ``@task.kubernetes``
pickles the arguments, renders its script and sets the container's command and environment,
and ``build_pod_request_obj`` makes the pod (with the XCom sidecar). The stand-in then:

1. writes the pod, as the Kubernetes API would receive it, to ``<record>/<task_id>.json``;
2. runs the pod's container command as a kubelet would, in the image's filesystem: the
   environment an image's Dockerfile made (``images``: image name to the folder standing for
   its ``/opt/isocell``, holding ``image-env.json``, the variables of its ENV lines), with
   only the variables the pod spec gives (its ``env``, and its ``env_from`` Secrets taken
   from ``secrets``), the container's own ``/tmp`` and ``/airflow`` being a fresh folder;
3. returns the JSON the function wrote to ``/airflow/xcom/return.json``, as the provider's
   XCom sidecar does.

``ISOCELL_TEST_PODS``: ``{"images": {image: folder}, "secrets": {name: {key: value}},
"record": folder}``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path


def _run_here(self, context):  # type: ignore[no-untyped-def]
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from kubernetes.client import ApiClient

    assert isinstance(self, KubernetesPodOperator)
    config = json.loads(os.environ["ISOCELL_TEST_PODS"])
    # dry_run: the pod as it would be sent, without asking a cluster whether it runs in one
    pod = self.build_pod_request_obj(context, dry_run=True)
    manifest = ApiClient().sanitize_for_serialization(pod)
    record = Path(config["record"]) / f"{self.task_id}.json"
    record.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    container = next(c for c in pod.spec.containers if c.name == self.base_container_name)
    root = Path(config["images"][container.image])  # KeyError: no such image was built
    image_env = json.loads((root / "image-env.json").read_text())
    env = dict(image_env)
    for source in container.env_from or []:
        env.update(config["secrets"][source.secret_ref.name])
    env.update({item.name: item.value for item in container.env or []})
    with tempfile.TemporaryDirectory(prefix="pod-") as sandbox:
        env["HOME"] = sandbox
        arguments = [*(container.command or []), *(container.args or [])]
        # the container's own /tmp and /airflow, and the image's /opt/isocell
        arguments = [
            a.replace("/tmp/", f"{sandbox}/tmp/")
            .replace("/airflow/", f"{sandbox}/airflow/")
            .replace("/opt/isocell", str(root))
            for a in arguments
        ]
        os.makedirs(f"{sandbox}/tmp")
        done = subprocess.run(
            arguments, env=env, cwd=sandbox, capture_output=True, text=True, timeout=600
        )
        self.log.info("pod output:\n%s%s", done.stdout, done.stderr)
        if done.returncode != 0:
            raise RuntimeError(f"the pod's container exited with {done.returncode}")
        result = Path(sandbox, "airflow", "xcom", "return.json")
        return json.loads(result.read_text()) if result.exists() else None


if os.environ.get("ISOCELL_TEST_PODS"):
    try:
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    except ImportError:  # a Python without the provider: nothing to stand in for
        pass
    else:
        KubernetesPodOperator.execute_sync = _run_here
