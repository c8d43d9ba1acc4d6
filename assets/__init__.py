"""The shipped assets (embedded models under models/, sample images under images/), installed as the package
`decision_atlas_assets` so that geometry.loading finds them through the installed package. make_assets.py and
training.py here are the scripts that make them.
"""
