"""The manifests `cpemu demo` plays: a copy of `examples/` (the seed walkthrough's files),
so that the demo works from an installed package. `tests/cli/test_demo.py` checks that each
text here is byte for byte the file of the same path under `examples/`; after changing a file
there, copy it here (or the other way round)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["MANIFESTS"]

# Each text starts with a newline (dropped below), so that no line of this file is long.
_TEXTS: Final = {
    "profile.yaml": r"""
# Simulation profile for the seed walkthrough (`cpemu --profile examples/profile.yaml ...`;
# the state file remembers it). The format is in controllers/kubelet/profile.py.
# The seed's StorageClass `nfs-client` needs a provisioner of that name: serve it
# (the built-in `cpemu.io/hostpath` serves the default class `standard`).
storage:
  provisioners: [nfs-client]
""",
    "deployment/myapp-deploy-v1.yaml": r"""
# The seed walkthrough, section 1 (Deployment): `kubectl create -f myapp-deploy-v1.yaml`.
# Comments in Korean are the seed's own.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: myapp-deploy
  labels:
    app: myapp-deploy
spec:
  strategy:
    type: RollingUpdate   # default 값
    rollingUpdate:
      maxUnavailable: 1
      maxSurge: 1         # 급증, 순간적으로 복제본의 수의 +1(25%)까지 가능
  minReadySeconds: 20
  replicas: 3
  selector:
    matchLabels:
      app: myapp-deploy
  template:
    metadata:
      labels:
        app: myapp-deploy
    spec:
      containers:
      - image: ghcr.io/c1t1d0s7/go-myweb:v1.0
        name: myapp
        ports:
        - containerPort: 8080
""",
    "deployment/myapp-deploy-v2.yaml": r"""
# Not a file in the seed: it changes the image with
# `kubectl set deployment myapp-deploy myapp=imageghcr.io/c1t1d0s7/go-myweb:v2.0`, a typo for
# `kubectl set image deployment myapp-deploy myapp=ghcr.io/c1t1d0s7/go-myweb:v2.0`.
# This is v1 with that image, for `apply -f`.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: myapp-deploy
  labels:
    app: myapp-deploy
spec:
  strategy:
    type: RollingUpdate   # default 값
    rollingUpdate:
      maxUnavailable: 1
      maxSurge: 1         # 급증, 순간적으로 복제본의 수의 +1(25%)까지 가능
  minReadySeconds: 20
  replicas: 3
  selector:
    matchLabels:
      app: myapp-deploy
  template:
    metadata:
      labels:
        app: myapp-deploy
    spec:
      containers:
      - image: ghcr.io/c1t1d0s7/go-myweb:v2.0
        name: myapp
        ports:
        - containerPort: 8080
""",
    "deployment/myapp-deploy-v3.yaml": r"""
# Corrected: the seed shows only the metadata of v3 (it adds the change-cause annotation) and
# elides the spec with '...'; the spec here is v1's with image v3.0.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: myapp-deploy
  labels:
    app: myapp-deploy
  annotations:
    kubernetes.io/change-cause: My Golang Web App Version 3     # 주석
spec:
  strategy:
    type: RollingUpdate   # default 값
    rollingUpdate:
      maxUnavailable: 1
      maxSurge: 1         # 급증, 순간적으로 복제본의 수의 +1(25%)까지 가능
  minReadySeconds: 20
  replicas: 3
  selector:
    matchLabels:
      app: myapp-deploy
  template:
    metadata:
      labels:
        app: myapp-deploy
    spec:
      containers:
      - image: ghcr.io/c1t1d0s7/go-myweb:v3.0
        name: myapp
        ports:
        - containerPort: 8080
""",
    "statefulset/myapp-sts.yaml": r"""
# The seed walkthrough, section 2 (StatefulSet). Comments in Korean are the seed's own.
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: myapp-sts
spec:
  selector:
    matchLabels:
      app: myapp-sts
  serviceName: myapp-svc-headless    # 헤드리스 서비스 리소스의 이름
  replicas: 2
  template:
    metadata:
      labels:
        app: myapp-sts
    spec:
      containers:
      - name: myapp
        image: ghcr.io/c1t1d0s7/go-myweb:alpine
        ports:
        - containerPort: 8080
""",
    "statefulset/myapp-svc-headless.yaml": r"""
# The seed walkthrough, section 2 (StatefulSet). Comments in Korean are the seed's own.
apiVersion: v1
kind: Service
metadata:
  name: myapp-svc-headless
  labels:
    app: myapp-svc-headless
spec:
  ports:
  - name: http
    port: 80
  clusterIP: None     # 헤드리스 서비스 정의
  selector:
    app: myapp-sts
""",
    "statefulset/storageclass-nfs-client.yaml": r"""
# Not a file in the seed: its cluster already has a StorageClass `nfs-client` (an NFS
# subdir provisioner), which myapp-sts-vol.yaml's claims ask for. In the emulator the
# provisioner `nfs-client` is served by the simulation profile (examples/profile.yaml).
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: nfs-client
provisioner: nfs-client
reclaimPolicy: Delete
""",
    "statefulset/myapp-sts-vol.yaml": r"""
# The seed walkthrough, section 2 (StatefulSet). Comments in Korean are the seed's own.
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: myapp-sts-vol
spec:
  selector:
    matchLabels:
      app: myapp-sts-vol
  serviceName: myapp-svc-headless
  replicas: 2
  template:                  # 파드의 템플릿
    metadata:
      labels:
        app: myapp-sts-vol
    spec:
      containers:
      - name: myapp
        image: ghcr.io/c1t1d0s7/go-myweb:alpine
        ports:
        - containerPort: 8080
        volumeMounts:
        - name: myapp-data
          mountPath: /data
  volumeClaimTemplates:         # PVC의 템플릿
  - metadata:
      name: myapp-data
    spec:
      accessModes: ["ReadWriteOnce"]
      resources:
        requests:
          storage: 1Gi
      storageClassName: nfs-client
""",
    "mysql/mydb-cm-mysql.yaml": r"""
# The seed walkthrough, section 3 (replicated MySQL). Comments in Korean are the seed's own.
apiVersion: v1
kind: ConfigMap
metadata:
  name: mydb-config
  labels:
    app: mydb
    app.kubernetes.io/name: mydb
data:
  primary.cnf: |
    [mysqld]
    log-bin
  replica.cnf: |        # my.cnf 파일을 대체하기 위함
    [mysqld]
    super-read-only
""",
    "mysql/mydb-sts-mysql.yaml": r"""
# The seed walkthrough, section 3 (replicated MySQL). Comments in Korean are the seed's own.
# The emulator never runs the commands or probes below: it emulates the pod lifecycle (init
# containers in order, probe delays). The claim template names no class: `standard` serves it.
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: mydb
spec:
  selector:
    matchLabels:
      app: mydb
      app.kubernetes.io/name: mydb
  serviceName: mydb
  replicas: 2
  template:
    metadata:
      labels:
        app: mydb
        app.kubernetes.io/name: mydb
    spec:
      initContainers:           # 초기화 컨테이너가 2개 있음
      - name: init-mysql               # 1번
        image: mysql:5.7
        command:
        - bash
        - "-c"
        - |
          set -ex
          [[ $HOSTNAME =~ -([0-9]+)$ ]] || exit 1
          ordinal=${BASH_REMATCH[1]}
          echo [mysqld] > /mnt/conf.d/server-id.cnf
          echo server-id=$((100 + $ordinal)) >> /mnt/conf.d/server-id.cnf
          if [[ $ordinal -eq 0 ]]; then
            cp /mnt/config-map/primary.cnf /mnt/conf.d/
          else
            cp /mnt/config-map/replica.cnf /mnt/conf.d/
          fi
        volumeMounts:
        - name: conf
          mountPath: /mnt/conf.d
        - name: config-map
          mountPath: /mnt/config-map
      - name: clone-mysql              # 2번
        image: gcr.io/google-samples/xtrabackup:1.0
        command:
        - bash
        - "-c"
        - |
          set -ex
          [[ -d /var/lib/mysql/mysql ]] && exit 0
          [[ `hostname` =~ -([0-9]+)$ ]] || exit 1
          ordinal=${BASH_REMATCH[1]}
          [[ $ordinal -eq 0 ]] && exit 0
          ncat --recv-only mydb-$(($ordinal-1)).mydb 3307 | xbstream -x -C /var/lib/mysql
          xtrabackup --prepare --target-dir=/var/lib/mysql
        volumeMounts:
        - name: data
          mountPath: /var/lib/mysql
          subPath: mysql
        - name: conf
          mountPath: /etc/mysql/conf.d
      containers:
      - name: mysql
        image: mysql:5.7
        env:
        - name: MYSQL_ALLOW_EMPTY_PASSWORD
          value: "1"
        ports:
        - name: mysql
          containerPort: 3306
        volumeMounts:
        - name: data
          mountPath: /var/lib/mysql
          subPath: mysql
        - name: conf
          mountPath: /etc/mysql/conf.d
        livenessProbe:
          exec:
            command: ["mysqladmin", "ping"]
          initialDelaySeconds: 30
          periodSeconds: 10
          timeoutSeconds: 5
        readinessProbe:
          exec:
            command: ["mysql", "-h", "127.0.0.1", "-e", "SELECT 1"]
          initialDelaySeconds: 5
          periodSeconds: 2
          timeoutSeconds: 1
      - name: xtrabackup        # 실행되고 있는 중에 스토리지의 동기화를 해주는 역할
        image: gcr.io/google-samples/xtrabackup:1.0
        ports:
        - name: xtrabackup
          containerPort: 3307
        command:
        - bash
        - "-c"
        - |
          set -ex
          cd /var/lib/mysql
          if [[ -f xtrabackup_slave_info && "x$(<xtrabackup_slave_info)" != "x" ]]; then
            cat xtrabackup_slave_info | sed -E 's/;$//g' > change_master_to.sql.in
            rm -f xtrabackup_slave_info xtrabackup_binlog_info
          elif [[ -f xtrabackup_binlog_info ]]; then
            [[ `cat xtrabackup_binlog_info` =~ ^(.*?)[[:space:]]+(.*?)$ ]] || exit 1
            rm -f xtrabackup_binlog_info xtrabackup_slave_info
            echo "CHANGE MASTER TO MASTER_LOG_FILE='${BASH_REMATCH[1]}',\
                  MASTER_LOG_POS=${BASH_REMATCH[2]}" > change_master_to.sql.in
          fi
          if [[ -f change_master_to.sql.in ]]; then
            echo "Waiting for mysqld to be ready (accepting connections)"
            until mysql -h 127.0.0.1 -e "SELECT 1"; do sleep 1; done
            echo "Initializing replication from clone position"
            mysql -h 127.0.0.1 \
                  -e "$(<change_master_to.sql.in), \
                          MASTER_HOST='mydb-0.mydb', \
                          MASTER_USER='root', \
                          MASTER_PASSWORD='', \
                          MASTER_CONNECT_RETRY=10; \
                        START SLAVE;" || exit 1
            mv change_master_to.sql.in change_master_to.sql.orig
          fi
          exec ncat --listen --keep-open --send-only --max-conns=1 3307 -c \
            "xtrabackup --backup --slave-info --stream=xbstream --host=127.0.0.1 --user=root"
        volumeMounts:
        - name: data
          mountPath: /var/lib/mysql
          subPath: mysql
        - name: conf
          mountPath: /etc/mysql/conf.d
      volumes:
      - name: conf
        emptyDir: {}
      - name: config-map
        configMap:
          name: mydb-config
  volumeClaimTemplates:       # 스토리지 클래스가 없기 때문에 default로 하나가 지정되어있어야함
  - metadata:
      name: data
    spec:
      accessModes: ["ReadWriteOnce"]
      resources:
        requests:
          storage: 1Gi
""",
    "mysql/mydb-svc-read.yaml": r"""
# The seed walkthrough, section 3 (replicated MySQL): the ClusterIP Service for reads.
# Kept as the seed has it, mistake included: the selector `app.kubernetes.io/name: mysql`
# matches no pod (the pods carry `app.kubernetes.io/name: mydb`), so mydb-read has no endpoints.
apiVersion: v1
kind: Service
metadata:
  name: mydb-read
  labels:
    app: mydb
    app.kubernetes.io/name: mydb
spec:
  ports:
  - name: mysql
    port: 3306
  selector:
    app: mydb
    app.kubernetes.io/name: mysql
""",
    "mysql/mydb-svc-write.yaml": r"""
# The seed walkthrough, section 3 (replicated MySQL). Comments in Korean are the seed's own.
apiVersion: v1
kind: Service
metadata:
  name: mydb
  labels:
    app: mydb
    app.kubernetes.io/name: mydb
spec:
  ports:
  - name: mysql
    port: 3306
  clusterIP: None
  selector:
    app: mydb
    app.kubernetes.io/name: mydb
""",
}

#: Path under `examples/` -> file text, in the order the walkthrough uses them.
MANIFESTS: Final[Mapping[str, str]] = {path: text[1:] for path, text in _TEXTS.items()}
