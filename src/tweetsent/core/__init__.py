"""The bottom layer: errors, atomic writes, folders, versions, label sets and metrics; every other package may
import it, and it imports none of them."""
