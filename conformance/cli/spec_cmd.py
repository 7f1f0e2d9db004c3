"""``oms-conformance spec``: print, validate and explain the bundled contract."""

from __future__ import annotations

import click

from conformance.cli import main
from conformance.spec import PROFILES, Profile, load_contract, load_errata, load_requirements


@main.command("spec")
@click.option("--profile", type=click.Choice(PROFILES), default=Profile.STRICT.value, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option(
    "--validate", is_flag=True, help="Validate the document (openapi-spec-validator) and the catalogue."
)
@click.option("--requirements", is_flag=True, help="List the requirement catalogue for the profile.")
@click.option("--errata", is_flag=True, help="List the source page's errata.")
def spec(profile: str, fmt: str, validate: bool, requirements: bool, errata: bool) -> None:
    """Print the contract document for a profile, or validate it, or list its requirements or errata."""
    contract = load_contract(profile)
    if validate:
        contract.validate()
        catalogue = load_requirements()
        unknown = contract.requirement_ids() - set(catalogue)
        if unknown:
            from conformance.errors import SpecError

            raise SpecError(f"the document names unknown requirement IDs: {', '.join(sorted(unknown))}")
        applicable = [r for r in catalogue.values() if r.applies_to(profile)]
        click.echo(
            f"{profile}: valid OpenAPI {contract.document['openapi']}; "
            f"{len(applicable)} requirements apply; {len(load_errata())} errata recorded"
        )
    elif requirements:
        for req in load_requirements().values():
            if req.applies_to(profile):
                click.echo(f"{req.id:<22} {req.level:<6} {req.title}")
                click.echo(f'{"":<29} source: {req.source_ref}: "{req.source_text}"')
    elif errata:
        for erratum in load_errata():
            click.echo(f"{erratum.id}: {erratum.title}")
            click.echo(f'  quote ({erratum.section}): "{erratum.quote}"')
            click.echo(f"  problem: {erratum.problem}")
            click.echo(f"  resolution: {erratum.resolution}")
    else:
        click.echo(contract.dumps(fmt), nl=False)
