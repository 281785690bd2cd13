# Copyright 1999-2026 Gentoo Authors
# Distributed under the terms of the GNU General Public License v2

EAPI=7

PYTHON_COMPAT=( python2_7 )
DISTUTILS_SINGLE_IMPL=1

inherit gnome2 distutils-r1

DESCRIPTION="A graphical tool for administering Xen virtual machines"
HOMEPAGE="http://www.convirture.com/"
SRC_URI="mirror://sourceforge/${PN}/${P}.tar.gz"

LICENSE="GPL-2"
SLOT="0"
KEYWORDS="~amd64 ~x86"
IUSE="gtk"

COMMON_DEPEND="${PYTHON_DEPS}
	>=app-emulation/xen-tools-3.0.4"
RDEPEND="${COMMON_DEPEND}
	$(python_gen_cond_dep '
		dev-python/pygtk:2[${PYTHON_USEDEP}]
		>=dev-python/paramiko-1.7[${PYTHON_USEDEP}]
	')
	x11-libs/vte:0[python]
	gtk? ( x11-libs/gtk+:2 )
	!app-emulation/convirt-bin"
DEPEND="${COMMON_DEPEND}"

src_prepare() {
	distutils-r1_src_prepare
}
