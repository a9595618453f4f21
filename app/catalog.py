"""The layers Kiezkarte publishes, each declared once with its provenance.

Every map, export and API answer takes its attribution from here. ``dataset`` names
the folder under ``geodata/raw/`` whose PROVENANCE.md holds the full story; the
licence strings repeat what those files say, including where they ask to verify.
"""
from __future__ import annotations

from dataclasses import dataclass

GEOPORTAL = "Geoportal Berlin / Amt für Statistik Berlin-Brandenburg"


@dataclass(frozen=True)
class Layer:
    id: str
    title: str
    title_en: str
    dataset: str
    edition: str
    licence: str
    publisher: str
    source: str
    synthetic: bool = False

    @property
    def attribution(self) -> str:
        """One line for a map corner or an export: who, what, which edition, which licence."""
        text = f"{self.publisher}: {self.title} ({self.edition}), {self.licence}"
        return ("SYNTHETIC TEST DATA — " + text) if self.synthetic else text

    def as_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "title_en": self.title_en, "dataset": self.dataset,
                "edition": self.edition, "licence": self.licence, "publisher": self.publisher,
                "source": self.source, "attribution": self.attribution, "synthetic": self.synthetic}


_LOR_LICENCE = "CC BY 3.0 DE (as listed by ODIS)"
_UMWELTATLAS = "Umweltatlas Berlin, Senatsverwaltung für Mobilität, Verkehr, Klimaschutz und Umwelt"

LAYERS: tuple[Layer, ...] = (
    Layer("planungsraeume", "LOR-Planungsräume", "LOR planning areas", "lor2021_planungsraeume",
          "Stand 01.01.2021", _LOR_LICENCE, GEOPORTAL,
          "https://daten.odis-berlin.de/de/dataset/lor_planungsgraeume_2021/"),
    Layer("bezirksregionen", "LOR-Bezirksregionen", "LOR district regions", "lor2021_bezirksregionen",
          "Stand 01.01.2021", _LOR_LICENCE, GEOPORTAL, "WFS s_lor_bzr_2021"),
    Layer("prognoseraeume", "LOR-Prognoseräume", "LOR forecast areas", "lor2021_prognoseraeume",
          "Stand 01.01.2021", _LOR_LICENCE, GEOPORTAL, "WFS s_lor_pgr_2021"),
    Layer("bezirke", "Bezirksgrenzen", "District boundaries", "bezirke",
          "ALKIS, abgerufen 28.02.2024", _LOR_LICENCE, GEOPORTAL, "ODIS dataset bezirksgrenzen"),
    Layer("ortsteile", "Ortsteile", "Localities", "ortsteile",
          "ALKIS, abgerufen 04.03.2024", _LOR_LICENCE, GEOPORTAL, "ODIS dataset ortsteile"),
    Layer("umweltgerechtigkeit", "Umweltgerechtigkeit – Kernindikatoren", "Environmental justice core indicators",
          "umweltgerechtigkeit_2021_2022", "2021/2022", "dl-de/zero-2.0 (quoted for the WFS; to verify)",
          _UMWELTATLAS, "gdi.berlin.de ua_umweltgerechtigkeit_2021"),
    Layer("mss", "Monitoring Soziale Stadtentwicklung", "Monitoring of social urban development",
          "mss_2021_plr", "2021 (Daten 31.12.2020)", "dl-de/zero-2.0 (quoted for MSS; to verify)",
          "Senatsverwaltung für Stadtentwicklung, Bauen und Wohnen", "FIS-Broker s_Indizes_MSS2021_homogen"),
    Layer("einwohner", "Einwohnerinnen und Einwohner je Planungsraum", "Residents per planning area",
          "einwohner_plr", "30.06.2022", "CC BY 3.0 DE (to verify)", "Amt für Statistik Berlin-Brandenburg",
          "Statistischer Bericht A I 16 hj 1/22"),
    Layer("addresses", "Adressen Berlin", "Berlin addresses", "adressen_plr", "Juni 2023",
          "open data (Geoportal Berlin RBS; to verify)", GEOPORTAL, "WFS s_wfs_adressenberlin"),
    Layer("gruenanlagen", "Grünanlagenbestand und Spielplatzbestand (Tabellen)", "Public green spaces and playgrounds (tables)",
          "gruenanlagen_spielplaetze_tables", "Exportdatum nicht angegeben", "open data (to verify)",
          "Geoportal Berlin / Straßen- und Grünflächenämter", "FIS-Broker s_gruenanlagenbestand, s_spielplatzbestand"),
    Layer("green_spaces", "Grünanlagen (Mittelpunkte)", "Green spaces (centre points)", "erfrischungskarte_pois_2021",
          "Juli 2021", "open data (Grünanlagenbestand)", "Technologiestiftung Berlin, Erfrischungskarte / Geoportal Berlin",
          "technologiestiftung/erfrischungskarte-daten"),
    Layer("drinking_fountains", "Trinkbrunnen", "Drinking fountains", "erfrischungskarte_pois_2021", "Juni 2021",
          "ODbL", "© OpenStreetMap contributors (via Erfrischungskarte)", "technologiestiftung/erfrischungskarte-daten"),
    Layer("water_playgrounds", "Wasserspielplätze", "Water playgrounds", "erfrischungskarte_pois_2021", "Juli 2021",
          "ODbL", "© OpenStreetMap contributors (via Erfrischungskarte)", "technologiestiftung/erfrischungskarte-daten"),
    Layer("cool_rooms", "Öffentliche kühle Räume", "Public cool rooms", "erfrischungskarte_pois_2021", "Juli 2021",
          "open data (to verify)", "Technologiestiftung Berlin, Erfrischungskarte", "technologiestiftung/erfrischungskarte-daten"),
    Layer("kitas", "Kindertagesstätten", "Day-care centres", "social_infrastructure_points", "Dezember 2022",
          "open data (to verify)", GEOPORTAL, "WFS gdi.berlin.de/services/wfs/kita"),
    Layer("schools", "Schulen", "Schools", "social_infrastructure_points", "Oktober 2023",
          "open data (to verify)", GEOPORTAL, "WFS s_schulen"),
    Layer("youth_centres", "Jugendfreizeiteinrichtungen", "Youth centres", "social_infrastructure_points",
          "Dezember 2022", "open data (to verify)", GEOPORTAL, "WFS jfe"),
    Layer("care_homes", "Pflegeeinrichtungen", "Care homes", "social_infrastructure_points", "Juli 2023",
          "open data (to verify)", GEOPORTAL, "WFS pflegeeinrichtungen"),
    Layer("pharmacies", "Apotheken", "Pharmacies", "social_infrastructure_points", "Juli 2023",
          "open data (to verify)", GEOPORTAL, "WFS apothekenstandorte"),
    Layer("milieuschutz", "Soziale Erhaltungsgebiete (Milieuschutz) und städtebauliche Erhaltungsgebiete",
          "Social and urban-character preservation areas", "milieuschutz", "veröffentlicht 17.06.2024",
          "dl-de/zero-2.0", "Geoportal Berlin", "GDI Berlin WFS erhaltungsverordnungsgebiete"),
    Layer("qm_areas", "Quartiersmanagement-Gebiete (recherchiert, Grenzen angenähert)",
          "Neighbourhood management areas (researched, approximate boundaries)", "qm", "Recherche 2026",
          "facts with sources per row", "Kiezkarte research from public pages (see sources per area)",
          "geodata/raw/qm/qm_areas.csv"),
    Layer("projects", "QM-Projekte", "Neighbourhood management projects", "qm", "Recherche 2026",
          "facts with sources per row", "Kiezkarte research from public pages (see source per project)",
          "geodata/raw/qm/qm_projects.csv"),
    # Big layers (vector tiles, app/tiles.py); loaded apart from the build (kiezkarte load-layer).
    Layer("synthetic_trees", "Synthetischer Baumbestand (Testdaten, erfunden)", "Synthetic tree cadastre (made-up test data)",
          "synthetic", "generated by scripts/generate_synthetic_trees.py", "no licence: made-up test data",
          "Kiezkarte (generated)", "app/synthetic.py", synthetic=True),
)

_BY_ID = {layer.id: layer for layer in LAYERS}


def layer(layer_id: str) -> Layer:
    return _BY_ID[layer_id]


def attributions(*layer_ids: str) -> list[str]:
    return [layer(i).attribution for i in layer_ids]
