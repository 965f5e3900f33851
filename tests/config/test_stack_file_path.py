"""Where a stack's settings live, as Pulumi finds them: the errors name that file."""

from pathlib import Path

import pytest

from eventinfra.config.stack import stack_file_path
from eventinfra.errors import ConfigError


def test_stack_config_dir_from_the_project_file_is_where_the_stack_file_is(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: shop\nruntime: python\nstackConfigDir: stacks\n")
    assert stack_file_path(tmp_path, "prod") == tmp_path / "stacks" / "Pulumi.prod.yaml"


@pytest.mark.parametrize(
    "project", ["name: shop\nruntime: python\n", "- a list, not a project\n", "stackConfigDir: 7\n"]
)
def test_without_a_stack_config_dir_the_stack_file_is_in_the_project_folder(
    tmp_path: Path, project: str
) -> None:
    (tmp_path / "Pulumi.yaml").write_text(project)
    assert stack_file_path(tmp_path, "dev") == tmp_path / "Pulumi.dev.yaml"


def test_a_project_file_that_is_not_yaml_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: [shop\n")
    with pytest.raises(ConfigError) as raised:
        stack_file_path(tmp_path, "dev")
    assert str(tmp_path / "Pulumi.yaml") in str(raised.value)
    assert "is not valid YAML" in str(raised.value)
