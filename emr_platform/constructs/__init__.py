"""Reusable constructs of the EMR data platform.

Each construct owns its resources, defaults, validation, grants, removal policy and the compliance findings its
resources raise; :class:`EmrPlatformStack` only wires them.
"""

from emr_platform.constructs.account import EmrBlockPublicAccess
from emr_platform.constructs.catalog import DataCatalog, RedshiftAccessRole, ZoneCrawlers
from emr_platform.constructs.cluster import ClusterPlacement, EmrCluster, EmrClusterBase, IEmrCluster
from emr_platform.constructs.monitoring import EmrMonitoring, PlatformNotifications, StepCompletedHandler
from emr_platform.constructs.network import EmrNetwork
from emr_platform.constructs.pipeline import PipelineArtifactStore
from emr_platform.constructs.platform import EmrDataPlatform
from emr_platform.constructs.roles import EmrRoles
from emr_platform.constructs.security_configuration import EmrSecurityConfiguration
from emr_platform.constructs.serverless import EmrServerlessApplication, ServerlessPipeline
from emr_platform.constructs.shared import EMR_MANAGED_POLICY_TAG
from emr_platform.constructs.storage import DataLakeStorage
from emr_platform.constructs.studio import EmrStudio
from emr_platform.constructs.transient import TransientEmrCluster
from emr_platform.spec.settings import DEFAULT_INTERFACE_ENDPOINTS

__all__ = [
    "DEFAULT_INTERFACE_ENDPOINTS",
    "EMR_MANAGED_POLICY_TAG",
    "ClusterPlacement",
    "DataCatalog",
    "DataLakeStorage",
    "EmrBlockPublicAccess",
    "EmrCluster",
    "EmrClusterBase",
    "EmrDataPlatform",
    "EmrMonitoring",
    "EmrNetwork",
    "EmrRoles",
    "EmrSecurityConfiguration",
    "EmrServerlessApplication",
    "EmrStudio",
    "IEmrCluster",
    "PipelineArtifactStore",
    "PlatformNotifications",
    "RedshiftAccessRole",
    "ServerlessPipeline",
    "StepCompletedHandler",
    "TransientEmrCluster",
    "ZoneCrawlers",
]
